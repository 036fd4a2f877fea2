// The admin pages (staff): users, portal twin cards, grants, service grants, and "Scan twins". Each tab
// lists what exists, creates with a validated form that shows the server's `detail`, and deletes after
// a confirmation.

import { api, apiAll } from "./api.js";
import { h, icon, mount, toast, confirmDialog, options } from "./dom.js";
import { segment } from "./format.js";
import { state } from "./store.js";

const TABS = [
  ["users", "Users"], ["cards", "Twin cards"], ["grants", "Grants"], ["service-grants", "Service grants"], ["scan", "Scan twins"],
];

export function adminView(tab) {
  const root = document.getElementById("main");
  if (!TABS.some(([key]) => key === tab)) tab = "users";
  const content = h("div", { id: `admin-${tab}` });
  mount(root,
    h("div.page-head", {}, h("div", {}, h("h1", {}, "Admin"), h("p.sub", {}, "Users, portal cards and who may see what."))),
    h("nav.tabs", { "aria-label": "Admin sections" }, TABS.map(([key, label]) =>
      h("a", { href: `#/admin/${key}`, "aria-current": key === tab ? "page" : undefined }, label))),
    content);
  const views = { users, cards, grants, "service-grants": serviceGrants, scan };
  views[tab](content);
}

/** A list-and-form page: `load` gives rows, `row` draws one, the form posts to `path`. */
function crud(root, { title, path, headers, row, fields, body, created, empty, verb = "Delete", removable = () => true }) {
  const tableBody = h("tbody", {});
  const table = h("div.table-wrap", {}, h("table", { id: `table-${path.split("/").pop()}` },
    h("thead", {}, h("tr", {}, headers.map(text => h("th", { class: text.cls || "" }, text.label || text)), h("th", {}, h("span.sr-only", {}, "Actions")))),
    tableBody));
  const error = h("p.form-error", { role: "alert", hidden: true });
  const done = h("p.form-ok", { role: "status", hidden: true });
  const submit = h("button.btn.btn-primary", { type: "submit" }, title);
  const form = h("form.form", { novalidate: true, "aria-label": title }, fields.map(f => f.node), h("div.actions", {}, submit), error, done);
  const listPanel = h("section.panel", {}, h("h2", {}, "Existing", h("span.hint", { dataset: { count: "" } })), table);
  mount(root, h("section.panel", {}, h("h2", {}, title), form), listPanel);

  async function reload() {
    try {
      const rows = await apiAll(path);
      listPanel.querySelector("[data-count]").textContent = `${rows.length}`;
      mount(tableBody, rows.length ? rows.map(item => {
        const tr = h("tr", {}, row(item), h("td.act", {}, !removable(item) ? h("span.muted", {}, "you") : h("button.btn.btn-sm.btn-ghost", {
          type: "button", "aria-label": `${verb} ${rowLabel(path, item)}`, dataset: { action: verb.toLowerCase() },
          onclick: () => remove(item),
        }, icon("trash"), h("span.hide-sm", {}, verb))));
        return tr;
      }) : h("tr", {}, h("td.empty", { colspan: headers.length + 1 }, empty)));
    } catch (failure) {
      mount(tableBody, h("tr", {}, h("td", { colspan: headers.length + 1, role: "alert" }, failure.message)));
    }
  }

  async function remove(item) {
    const what = rowLabel(path, item);
    if (!(await confirmDialog(`${verb} ${what}?`, removeText(path, item), verb))) return;
    try {
      await api(path, { method: "DELETE", body: removeBody(path, item) });
      toast(`${verb === "Revoke" ? "Revoked" : "Deleted"} ${what}.`);
      reload();
    } catch (failure) { toast(failure.message, "bad"); }
  }

  form.addEventListener("submit", async event => {
    event.preventDefault();
    error.hidden = true;
    done.hidden = true;
    const invalid = fields.find(f => f.input && !f.input.checkValidity());
    if (invalid) {
      error.textContent = `${invalid.label}: ${invalid.input.validationMessage}`;
      error.hidden = false;
      invalid.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const answer = await api(path, { method: "POST", body: body() });
      done.textContent = created(answer);
      done.hidden = false;
      for (const f of fields) if (f.input && f.clear !== false) f.input.value = "";
      reload();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  reload();
  return { reload };
}

function rowLabel(path, item) {
  if (path.endsWith("service-grants")) return `${item.service || item.service_id} for ${item.user}`;
  if (path.endsWith("grants")) return `${item.twin || item.twin_id} for ${item.user}`;
  return item.username || item.name || item.twin_id || "this entry";
}

function removeText(path, item) {
  if (path.endsWith("users")) return `${item.username} loses access at once. This cannot be undone.`;
  if (path.endsWith("/twins")) return `The portal card ${item.name} and its grants are removed; the registry twin stays.`;
  if (path.endsWith("service-grants")) return `${item.user} no longer sees ${item.service || item.service_id}.`;
  return `${item.user} no longer sees ${item.twin || item.twin_id}.`;
}

function removeBody(path, item) {
  if (path.endsWith("users")) return { username: item.username };
  if (path.endsWith("/twins")) return { twin_id: item.twin_id };
  if (path.endsWith("service-grants")) return { username: item.user, service_id: item.service_id };
  return { username: item.user, twin_id: item.twin_id };
}

/** A labelled input: {node, input, label}. */
function field(id, text, attrs = {}, help) {
  const input = attrs.tag === "select" ? h("select", { id, required: true }) : h("input", { id, ...attrs });
  return { input, label: text, node: h("div.field", {}, h("label", { for: id }, text), input, help ? h("span.help", {}, help) : null) };
}

function users(root) {
  const username = field("user-username", "Username", { type: "email", required: true, autocomplete: "off", placeholder: "name@example.com" });
  const password = field("user-password", "Password", {
    type: "password", required: true, minlength: 8, autocomplete: "new-password", placeholder: "at least 8 characters",
  });
  const staff = h("input", { id: "user-staff", type: "checkbox" });
  const staffField = { node: h("div.field", {}, h("label.check", { for: "user-staff" }, staff, "Staff (may administer)")), clear: false };
  crud(root, {
    title: "Create user", path: "/api/admin/users",
    headers: ["User", { label: "Role" }],
    fields: [username, password, staffField],
    body: () => ({ username: username.input.value.trim(), email: username.input.value.trim(), password: password.input.value, is_staff: staff.checked }),
    created: answer => `Created ${answer?.username || username.input.value}.`,
    row: item => [
      h("td", {}, h("strong", {}, item.username), item.email && item.email !== item.username ? h("div.muted", {}, item.email) : null),
      h("td", {}, h("span.chip", { class: item.is_staff ? "chip-domain" : "" }, item.is_staff ? "staff" : "user")),
    ],
    empty: "No users.",
    // The gateway refuses to delete the signed-in user; the button would only ever fail.
    removable: item => item.username !== state.me?.username,
  });
}

function cards(root) {
  const name = field("card-name", "Name", { type: "text", required: true, maxlength: 200 });
  const ui = field("card-ui", "UI URL", { type: "url", placeholder: "http://localhost:3001" });
  const dtr = field("card-dtr", "Registry twin id (optional)", { type: "text", placeholder: "dt:Lift_001", pattern: "\\S+" });
  crud(root, {
    title: "Create twin card", path: "/api/admin/twins",
    headers: ["Card", { label: "Registry twin", cls: "hide-sm" }, { label: "UI", cls: "hide-sm" }],
    fields: [name, ui, dtr],
    body: () => ({ name: name.input.value.trim(), ui_url: ui.input.value.trim(), dtr_id: dtr.input.value.trim() }),
    created: answer => `Created the card ${answer?.name || name.input.value}.`,
    row: item => [
      h("td", {}, h("strong", {}, item.name), h("div.muted.mono", {}, item.twin_id)),
      h("td.hide-sm", {}, item.dtr_id ? h("a", { href: `#/twin/${segment(item.dtr_id)}` }, item.dtr_id) : "—"),
      h("td.hide-sm", {}, item.ui_url ? h("a", { href: item.ui_url, target: "_blank", rel: "noopener" }, item.ui_url) : "—"),
    ],
    empty: "No cards.",
  });
}

async function choices() {
  const [users, cards] = await Promise.all([apiAll("/api/admin/users"), apiAll("/api/admin/twins")]);
  return { users, cards };
}

function grants(root) {
  const user = field("grant-user", "User", { tag: "select" });
  const twin = field("grant-twin", "Twin card", { tag: "select" });
  choices().then(({ users, cards }) => {
    user.input.replaceChildren(...options([["", "Choose a user"], ...users.map(u => [u.username, u.username])]));
    twin.input.replaceChildren(...options([["", "Choose a twin"], ...cards.map(c => [c.twin_id, `${c.name}${c.dtr_id ? ` (${c.dtr_id})` : ""}`])]));
  }).catch(error => toast(error.message, "bad"));
  for (const f of [user, twin]) f.clear = false;
  crud(root, {
    title: "Grant", path: "/api/admin/grants",
    headers: ["User", "Twin"],
    fields: [user, twin],
    body: () => ({ username: user.input.value, twin_id: twin.input.value }),
    created: () => `Granted ${twin.input.selectedOptions[0]?.textContent} to ${user.input.value}.`,
    row: item => [h("td", {}, item.user), h("td", {}, h("strong", {}, item.twin || item.twin_id), h("div.muted.mono", {}, item.dtr_id || item.twin_id))],
    empty: "No grants.", verb: "Revoke",
  });
}

function serviceGrants(root) {
  const user = field("sgrant-user", "User", { tag: "select" });
  const service = field("sgrant-service", "Service", { tag: "select" });
  Promise.all([apiAll("/api/admin/users"), apiAll("/api/registry/services/list?scope=all")]).then(([users, services]) => {
    user.input.replaceChildren(...options([["", "Choose a user"], ...users.map(u => [u.username, u.username])]));
    service.input.replaceChildren(...options([["", "Choose a service"], ...services.map(s => [String(s.id), `${s.name} (${s.tenant || "—"})`])]));
  }).catch(error => toast(error.message, "bad"));
  for (const f of [user, service]) f.clear = false;
  crud(root, {
    title: "Grant service", path: "/api/admin/service-grants",
    headers: ["User", "Service"],
    fields: [user, service],
    body: () => ({ username: user.input.value, service_id: service.input.value }),
    created: () => `Granted ${service.input.selectedOptions[0]?.textContent} to ${user.input.value}.`,
    row: item => [h("td", {}, item.user), h("td", {}, h("strong", {}, item.service || item.service_id), h("div.muted.mono", {}, String(item.service_id)))],
    empty: "No service grants.", verb: "Revoke",
  });
}

/** Discovery's summary as tiles: files, registered, unchanged, deprecated, queued, failed. */
function scanSummary(answer) {
  const keys = [["files", "files read"], ["registered", "registered"], ["unchanged", "unchanged"],
    ["deprecated", "deprecated"], ["queued", "queued"]];
  const failed = Array.isArray(answer.failed) ? answer.failed : [];
  const tiles = keys.filter(([key]) => Number.isFinite(answer[key])).map(([key, label]) =>
    h("div.stat", {}, h("div.stat-value", {}, String(answer[key])), h("div.stat-label", {}, label)));
  if (Array.isArray(answer.failed)) {
    tiles.push(h("div.stat", { class: failed.length ? "bad" : "" }, h("div.stat-value", {}, String(failed.length)), h("div.stat-label", {}, "failed")));
  }
  return h("div", { id: "scan-summary" },
    tiles.length ? h("div.stats", {}, tiles) : null,
    Number.isFinite(answer.duration_ms) ? h("p.muted", {}, `Scan took ${answer.duration_ms} ms.`) : null,
    answer.registry_error ? h("p.form-error", { role: "alert" }, `Registry unavailable: ${answer.registry_error}`) : null,
    failed.length ? h("ul", {}, failed.map(f => h("li", {}, typeof f === "string" ? f : `${f.file || ""} ${f.error || f.message || JSON.stringify(f)}`))) : null);
}

function scan(root) {
  const summary = h("div", { "aria-live": "polite" });
  const result = h("pre.pre", { id: "scan-result", hidden: true });
  const button = h("button.btn.btn-primary", { type: "button", id: "scan-button" }, icon("refresh"), "Scan twins");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.lastChild.textContent = "Scanning…";
    try {
      const answer = await api("/api/admin/scan", { method: "POST", body: {} });
      mount(summary, scanSummary(answer || {}));
      result.textContent = JSON.stringify(answer, null, 2);
      result.hidden = false;
      toast("Scan finished.");
    } catch (failure) {
      mount(summary, h("p.form-error", { role: "alert" }, `Scan failed: ${failure.message}`));
      result.textContent = `Scan failed: ${failure.message}`;
      result.hidden = false;
    } finally {
      button.disabled = false;
      button.lastChild.textContent = "Scan twins";
    }
  });
  mount(root, h("section.panel", {},
    h("h2", {}, "Scan twins"),
    h("p.muted", {}, "Asks discovery to read the twins folder again and register what changed. New twins appear on the Twins page by themselves."),
    button, summary, h("details.raw", {}, h("summary", {}, "Discovery's answer"), result)));
}
