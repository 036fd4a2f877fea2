// The health badge bar: the gateway, its database, InfluxDB, cron, the ingestor and every registered
// service, and when the gateway last checked. Fed by /api/healthz and the stream's health events.

import { h, mount } from "./dom.js";
import { state } from "./store.js";
import { when } from "./format.js";

function badge(name, ok, title) {
  const cls = ok === true ? "ok" : ok === false ? "bad" : "unknown";
  const word = ok === true ? "up" : ok === false ? "down" : "unknown";
  return h("span.hb", { class: cls, title: title || `${name}: ${word}`, dataset: { health: name, state: cls } },
    name, h("span.sr-only", {}, `: ${word}`));
}

export function renderHealth(root) {
  const health = state.health;
  if (!health) return;
  const services = Array.isArray(health.services) ? health.services : [];
  const find = name => services.find(item => item.name === name || item.name === `dtp-${name}`);
  const ingestor = find("ingestor") || find("mqtt-ingestor");
  const items = [
    badge("Gateway", health.ok !== false && !state.streamDown, state.streamDown ? "Gateway: not reachable, reconnecting" : undefined),
    badge("Database", health.db === true ? true : health.db === false ? false : undefined),
    badge("InfluxDB", health.influx_configured === true ? true : health.influx_configured === false ? false : undefined,
      health.influx_configured ? "InfluxDB: configured" : "InfluxDB: not configured"),
    badge("Cron", health.cron === true ? true : health.cron === false ? false : undefined),
    ingestor
      ? badge("Ingestor", ingestor.ok === true, latencyTitle(ingestor))
      : badge("Ingestor", state.ingestor ? state.ingestor !== "unreachable" : undefined,
        state.ingestor ? `Ingestor: ${state.ingestor === "unreachable" ? "not answering the gateway" : "answering the gateway"}` : "Ingestor: not checked yet"),
  ];
  for (const service of services) {
    if (service === ingestor) continue;
    items.push(badge(service.name, service.ok === true, latencyTitle(service)));
  }
  mount(root,
    h("span.label", {}, "Health"),
    items,
    h("span.updated", { dataset: { updated: state.healthAt || "" } }, `Updated ${when(state.healthAt)}`));
}

function latencyTitle(service) {
  const parts = [`${service.name}: ${service.ok ? "up" : "down"}`];
  if (Number.isFinite(service.latency_ms)) parts.push(`${Math.round(service.latency_ms)} ms`);
  if (service.checked_at) parts.push(`checked ${when(service.checked_at)}`);
  if (service.error) parts.push(String(service.error));
  return parts.join(" · ");
}
