// The twin cards grid: search, filters by status, domain and tenant, "mine / all" for staff, and cards
// that change live (a new twin appears, a deprecated one greys out, last data ticks every second).

import { h, icon, mount, options } from "./dom.js";
import { state, on, loadTwins } from "./store.js";
import { ago, domains, sourceText, status, twinId, twinName, when, segment } from "./format.js";

const STATUSES = ["designed", "instantiated", "active", "deprecated", "retired"];
/** Data younger than this is "fresh" (green); older is "stale" (amber). */
const FRESH_MS = 120_000;

export function twinsView() {
  const root = document.getElementById("main");
  const f = state.filters;
  const search = h("input", {
    id: "twin-search", type: "search", placeholder: "Name, id or domain", value: f.q, autocomplete: "off",
  });
  const statusSelect = h("select", { id: "filter-status" }, options([["", "Any status"], ...STATUSES.map(x => [x, x])], f.status));
  const domainSelect = h("select", { id: "filter-domain" });
  const tenantSelect = h("select", { id: "filter-tenant" });
  const count = h("p.count", { id: "twin-count", role: "status" });
  const grid = h("div.cards", { id: "twin-cards", "aria-live": "off" });
  const scope = h("div.seg", { role: "group", "aria-label": "Which twins" },
    ["mine", "all"].map(value => h("button", {
      type: "button", dataset: { scope: value }, "aria-pressed": String(state.scope === value),
      onclick: () => {
        if (state.scope === value) return;
        state.scope = value;
        for (const button of scope.children) button.setAttribute("aria-pressed", String(button.dataset.scope === value));
        loadTwins().catch(() => {});
      },
    }, value === "mine" ? "Mine" : "All")));

  search.addEventListener("input", () => { f.q = search.value; draw(); });
  statusSelect.addEventListener("change", () => { f.status = statusSelect.value; draw(); });
  domainSelect.addEventListener("change", () => { f.domain = domainSelect.value; draw(); });
  tenantSelect.addEventListener("change", () => { f.tenant = tenantSelect.value; draw(); });

  mount(root,
    h("div.page-head", {},
      h("div", {}, h("h1", {}, "Twins"), h("p.sub", {}, "Every twin you can see, live from the registry.")),
      state.me.is_staff ? h("div.actions", {}, scope) : null),
    h("div.toolbar", { role: "search" },
      h("div.field.search", {}, h("label", { for: "twin-search" }, "Search"), icon("search"), search),
      h("div.field", {}, h("label", { for: "filter-status" }, "Status"), statusSelect),
      h("div.field", {}, h("label", { for: "filter-domain" }, "Domain"), domainSelect),
      h("div.field", {}, h("label", { for: "filter-tenant" }, "Tenant"), tenantSelect)),
    count, grid);

  function refreshChoices() {
    const twins = [...state.twins.values()];
    const allDomains = [...new Set(twins.flatMap(domains))].sort((a, b) => a.localeCompare(b));
    const tenants = [...new Set(twins.map(t => t.tenant).filter(Boolean))].sort();
    if (f.domain && !allDomains.includes(f.domain)) allDomains.push(f.domain);
    if (f.tenant && !tenants.includes(f.tenant)) tenants.push(f.tenant);
    domainSelect.replaceChildren(...options([["", "Any domain"], ...allDomains.map(x => [x, x])], f.domain));
    tenantSelect.replaceChildren(...options([["", "Any tenant"], ...tenants.map(x => [x, x])], f.tenant));
  }

  function matches(twin) {
    if (f.status && status(twin) !== f.status) return false;
    if (f.domain && !domains(twin).includes(f.domain)) return false;
    if (f.tenant && twin.tenant !== f.tenant) return false;
    const q = f.q.trim().toLowerCase();
    if (!q) return true;
    return [twinName(twin), twinId(twin), twin.tenant, ...domains(twin)].some(text => String(text).toLowerCase().includes(q));
  }

  function draw() {
    refreshChoices();
    const twins = [...state.twins.values()].sort((a, b) => twinName(a).localeCompare(twinName(b)));
    const shown = twins.filter(matches);
    count.textContent = state.twinsLoaded
      ? `${shown.length} of ${twins.length} twin${twins.length === 1 ? "" : "s"}`
      : "Loading twins…";
    if (state.twinsError && !state.twinsLoaded) {
      count.textContent = "";
      mount(grid, h("div.panel.empty", { role: "alert" },
        h("p", {}, `The twins could not be loaded: ${state.twinsError}`),
        h("button.btn", { type: "button", onclick: () => loadTwins().catch(() => {}) }, "Try again")));
      return;
    }
    if (!shown.length) {
      mount(grid, h("div.panel.empty", {},
        !state.twinsLoaded ? "Loading…" : twins.length ? "No twin matches these filters." : "No twins to show yet."));
      return;
    }
    mount(grid, shown.map(card));
    state.fresh.clear();
    tick();
  }

  function tick() {
    const now = Date.now();
    for (const node of grid.querySelectorAll(".lastdata")) {
      const item = state.lastData.get(node.dataset.twin);
      const at = item ? Date.parse(item.last_ts) : NaN;
      node.classList.toggle("fresh", now - at < FRESH_MS);
      node.classList.toggle("stale", now - at >= FRESH_MS);
      node.textContent = Number.isFinite(at) ? `last data ${ago(at, now)}` : "no data yet";
      node.title = item ? `${when(item.last_ts)}${sourceText(item) ? ` from ${sourceText(item)}` : ""}` : "No data received";
    }
  }

  draw();
  const timer = setInterval(tick, 1000);
  const offs = [on("twins", draw), on("lastdata", tick)];
  return () => { clearInterval(timer); offs.forEach(off => off()); };
}

function card(twin) {
  const id = twinId(twin);
  const lifecycle = status(twin);
  const portalCard = state.cards.get(id);
  const ui = (twin.interfaces && twin.interfaces.api) || portalCard?.ui_url;
  const detail = `#/twin/${segment(id)}`;
  return h("article.card", {
    class: [lifecycle === "deprecated" || lifecycle === "retired" ? "is-deprecated" : "", state.fresh.has(id) ? "is-new" : ""]
      .filter(Boolean).join(" "),
    dataset: { twin: id, status: lifecycle }, "aria-labelledby": `title-${cssId(id)}`,
  },
    h("div.card-head", {},
      h("div.card-icon", {}, icon("twin")),
      h("div", {},
        h("h2.card-title", { id: `title-${cssId(id)}` }, h("a", { href: detail }, twinName(twin))),
        h("div.card-id", { title: id }, id))),
    h("div.chips", {},
      h("span.badge", { class: `status-${lifecycle}`, dataset: { role: "status" }, title: "Lifecycle status" }, lifecycle),
      h("span.chip", { title: "Tenant", dataset: { role: "tenant" } }, twin.tenant || "—"),
      domains(twin).map(domain => h("span.chip.chip-domain", { dataset: { role: "domain" } }, domain))),
    h("div.card-foot", {},
      h("span.lastdata", { dataset: { twin: id } }, "no data yet"),
      h("span.links", {},
        h("a.btn.btn-sm", { href: detail, "aria-label": `Details of ${twinName(twin)}` }, "Details"),
        ui ? h("a.btn.btn-sm.btn-primary", {
          href: ui, target: "_blank", rel: "noopener", dataset: { role: "ui" }, "aria-label": `Open the UI of ${twinName(twin)} (new tab)`,
        }, "Open UI", icon("external")) : null)));
}

function cssId(id) { return id.replace(/[^a-zA-Z0-9_-]/g, "_"); }
