// The portal's entry point: the session, the chrome (top bar, health bar, reconnect banner), the
// portal stream and the hash router (#/twins, #/twin/<id>, #/services, #/admin/<tab>).

import { hasSession, logout, onSessionEnd, ApiError } from "./api.js";
import { $, h, mount, toast } from "./dom.js";
import { state, on, emit, applyEvent, loadMe, reloadAll, loadLastData, loadHealth } from "./store.js";
import { openStream } from "./stream.js";
import { renderHealth } from "./health.js";
import { loginView } from "./view-login.js";
import { twinsView } from "./view-twins.js";
import { twinView } from "./view-twin.js";
import { servicesView } from "./view-services.js";
import { adminView } from "./view-admin.js";

let stream = null;
let cleanup = null;
let pollers = [];

const routes = [
  [/^#\/twins\/?$/, () => twinsView()],
  [/^#\/twin\/(.+)$/, match => twinView(decodeURIComponent(match[1]))],
  [/^#\/services\/?$/, () => servicesView()],
  [/^#\/admin\/?([a-z-]*)$/, match => adminView(match[1] || "users")],
];

function route() {
  if (!state.me) return;
  const hash = location.hash || "#/twins";
  cleanup?.();
  cleanup = null;
  const main = $("#main");
  for (const [pattern, view] of routes) {
    const match = pattern.exec(hash);
    if (!match) continue;
    const section = hash.startsWith("#/admin") ? "admin" : hash.startsWith("#/services") ? "services" : "twins";
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (section === "admin" && !state.me.is_staff) {
      mount(main, h("div.panel.empty", {}, "The admin pages are for staff."));
      return;
    }
    cleanup = view(match) || null;
    return;
  }
  location.replace("#/twins");
}

function showBanner(text) {
  const banner = $("#banner");
  banner.textContent = text;
  banner.hidden = !text;
}

function startLive() {
  stream?.close();
  stream = openStream({
    onEvent: applyEvent,
    onOpen: resumed => {
      showBanner("");
      document.body.dataset.stream = "open";
      state.streamDown = false;
      emit("health");
      // Events resume from Last-Event-ID; the reload covers anything the gateway could not replay.
      if (resumed) reloadAll().catch(() => {});
    },
    onDown: (delay, reason) => {
      document.body.dataset.stream = "down";
      state.streamDown = true;
      emit("health");
      showBanner(`Live updates interrupted. Reconnecting in ${Math.ceil(delay / 1000)} s…`);
      $("#banner").title = `Why: ${reason}`;
    },
    onAuthLost: () => endSession("Your session has ended. Please log in again."),
  });
  // Last data comes from the ingestor through the gateway's cache; "12 s ago" ticks every second.
  pollers = [
    setInterval(() => loadLastData().catch(() => {}), 10_000),
    setInterval(() => loadHealth().catch(() => {}), 30_000),
  ];
}

function stopLive() {
  stream?.close();
  stream = null;
  for (const timer of pollers) clearInterval(timer);
  pollers = [];
  delete document.body.dataset.stream;
  showBanner("");
}

function showChrome(visible) {
  $("#topbar").hidden = !visible;
  $("#health").hidden = !visible;
  if (!visible) return;
  $("#user-name").textContent = state.me.username || state.me.email || "";
  $("#user-role").hidden = !state.me.is_staff;
  for (const node of document.querySelectorAll("[data-staff]")) node.hidden = !state.me.is_staff;
}

async function enter() {
  try {
    await loadMe();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return endSession("Please log in again.");
    mount($("#main"), h("div.panel.empty", { role: "alert" }, `The gateway is not answering: ${error.message}`));
    return;
  }
  state.scope = "mine";
  document.body.dataset.user = state.me.username || "";
  showChrome(true);
  if (!location.hash || location.hash === "#/login") location.replace("#/twins");
  route();
  startLive();
  try {
    await reloadAll();
  } catch (error) {
    toast(error.message, "bad");
  }
}

function endSession(message) {
  stopLive();
  cleanup?.();
  cleanup = null;
  state.me = null;
  delete document.body.dataset.user;
  showChrome(false);
  history.replaceState(null, "", "#/login");
  loginView($("#main"), { message, onLogin: enter });
}

$("#logout").addEventListener("click", async () => {
  await logout();
  endSession("You are logged out.");
});
onSessionEnd(reason => { if (state.me) endSession(reason); });
on("health", () => renderHealth($("#health")));
addEventListener("hashchange", route);
// A tab coming back from sleep may have missed its heartbeat: reconnect at once rather than waiting.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && document.body.dataset.stream === "down") stream?.reconnect();
});

if (hasSession()) enter();
else endSession("");

