// The services list: every service the user may see, with the health the gateway last measured.

import { h, icon, mount } from "./dom.js";
import { state, on } from "./store.js";
import { ago, segment } from "./format.js";

export function servicesView() {
  const root = document.getElementById("main");
  const body = h("div", {});
  mount(root,
    h("div.page-head", {},
      h("div", {}, h("h1", {}, "Services"), h("p.sub", {}, "Registered services and their health, checked by the gateway."))),
    h("section.panel", { "aria-label": "Services" }, body));

  function draw() {
    const checks = Array.isArray(state.health?.services) ? state.health.services : [];
    const services = [...state.services].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    if (!services.length) return mount(body, h("p.empty", {}, "No services registered yet."));
    mount(body, h("div.table-wrap", {}, h("table", { id: "services-table" },
      h("thead", {}, h("tr", {},
        h("th", {}, "Service"), h("th", {}, "Health"), h("th.hide-sm", {}, "Category"), h("th.hide-sm", {}, "Tenant"),
        h("th.hide-sm", {}, "Twin"), h("th", {}, h("span.sr-only", {}, "Links")))),
      h("tbody", {}, services.map(service => {
        const check = checks.find(c => c.name === service.name || c.service_id === service.id);
        const ok = check ? check.ok === true : undefined;
        const api = service.interfaces?.api;
        return h("tr", { dataset: { service: service.name } },
          h("td", {}, h("strong", {}, service.name), h("div.muted.mono", {}, service.id || "")),
          h("td", {}, h("span.hb", { class: ok === true ? "ok" : ok === false ? "bad" : "unknown" },
            ok === true ? "up" : ok === false ? "down" : "not checked"),
          check && Number.isFinite(check.latency_ms) ? h("div.muted", {}, `${Math.round(check.latency_ms)} ms · ${ago(check.checked_at)}`) : null),
          h("td.hide-sm", {}, h("span.chip", {}, service.category || "—")),
          h("td.hide-sm", {}, service.tenant || "—"),
          h("td.hide-sm", {}, service.twin_ref ? h("a", { href: `#/twin/${segment(service.twin_ref)}` }, service.twin_ref) : "—"),
          h("td.act", {}, api ? h("a.btn.btn-sm", { href: api, target: "_blank", rel: "noopener", "aria-label": `Open ${service.name} (new tab)` }, "Open", icon("external")) : null));
      })))));
  }
  draw();
  const offs = [on("services", draw), on("health", draw)];
  return () => offs.forEach(off => off());
}
