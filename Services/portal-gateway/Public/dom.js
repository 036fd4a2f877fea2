// Small DOM helpers: elements are built with h(), never from HTML strings, so nothing a server or a
// user typed is ever parsed as markup, and nothing needs an inline style (the CSP forbids both).

const SVG_NS = "http://www.w3.org/2000/svg";

/** An element: h("a.btn.btn-primary", {href: "#/"}, "text", child, ...). */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split(".");
  const node = document.createElement(name || "div");
  if (classes.length) node.className = classes.join(" ");
  apply(node, attrs);
  append(node, children);
  return node;
}

/** An SVG element with attributes (set as attributes, which the CSP allows). */
export function s(name, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

/** An icon from the sprite. */
export function icon(name, cls = "icon") {
  const svg = s("svg", { class: cls, "aria-hidden": "true", focusable: "false" });
  svg.appendChild(s("use", { href: `/icons.svg#${name}` }));
  return svg;
}

function apply(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = [node.className, value].filter(Boolean).join(" ");
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "value" || key === "checked" || key === "selected") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `node`. */
export function mount(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** A short notice in the corner; errors stay longer. */
export function toast(message, kind = "ok") {
  const node = h("div.toast", { class: kind === "bad" ? "bad" : "", role: kind === "bad" ? "alert" : "status" }, message);
  $("#toasts").appendChild(node);
  setTimeout(() => node.remove(), kind === "bad" ? 8000 : 4000);
}

/** Asks in a modal dialog; resolves true when confirmed. */
export function confirmDialog(title, text, action = "Confirm") {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = action;
  return new Promise(resolve => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("#confirm-ok").focus();
  });
}

/** `<select>` options from [value, label] pairs. */
export function options(pairs, selected) {
  return pairs.map(([value, label]) => h("option", { value, selected: value === selected }, label));
}
