// The portal's live state: the user, the twins they see, last data, services and health. Views read it
// and subscribe to topics; the portal stream and a few reloads keep it current without a page reload.

import { api, apiAll } from "./api.js";
import { twinId } from "./format.js";

export const state = {
  me: null,
  /** "mine" or "all" (staff only). */
  scope: "mine",
  /** twin id -> twin JSON from the registry. */
  twins: new Map(),
  /** twin ids that arrived through the stream since the grid was drawn (for a brief highlight). */
  fresh: new Set(),
  /** registry twin id -> portal card {twin_id, name, ui_url, dtr_id}. */
  cards: new Map(),
  /** twin id -> {last_ts, source}. */
  lastData: new Map(),
  services: [],
  /** The ingestor as the last-data answer saw it: "ok", "cached" or "unreachable". */
  ingestor: null,
  health: null,
  healthAt: null,
  twinsLoaded: false,
  /** Whether the portal stream is down (the gateway's badge shows it). */
  streamDown: false,
  /** Why the last twins load failed, shown with a retry button. */
  twinsError: null,
  filters: { q: "", status: "", domain: "", tenant: "" },
};

const topics = new Map();
/** Subscribes to a topic ("twins", "lastdata", "health", "services", "event"); returns the unsubscribe. */
export function on(topic, listener) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(listener);
  return () => topics.get(topic).delete(listener);
}
export function emit(topic, detail) {
  for (const listener of topics.get(topic) || []) {
    try { listener(detail); } catch (error) { console.warn(`listener of ${topic}`, error); }
  }
}

const timers = new Map();
/** Runs `task` once after `ms`, however often it is asked for meanwhile. */
function debounce(key, ms, task) {
  if (timers.has(key)) return;
  timers.set(key, setTimeout(() => { timers.delete(key); task(); }, ms));
}

export async function loadMe() {
  state.me = await api("/api/me/");
  return state.me;
}

/** Reloads the twins the user sees (the registry through the gateway) and their portal cards. */
export async function loadTwins() {
  const scope = state.me?.is_staff ? state.scope : "mine";
  let twins, cards;
  try {
    [twins, cards] = await Promise.all([
      apiAll(`/api/registry/twins?scope=${scope}`),
      api("/api/me/twins/").catch(() => []),
    ]);
  } catch (error) {
    state.twinsError = error.message;
    emit("twins");
    throw error;
  }
  state.twinsError = null;
  state.twins = new Map(twins.map(twin => [twinId(twin), twin]));
  state.cards = new Map((Array.isArray(cards) ? cards : []).map(card => [card.dtr_id || card.twin_id, card]));
  state.twinsLoaded = true;
  emit("twins");
}

export async function loadLastData() {
  const answer = await api("/api/last-data/my");
  const items = Array.isArray(answer) ? answer : answer?.items || [];
  // One item per stream of a twin: the card shows the newest.
  const newest = new Map();
  for (const item of items) {
    const id = item.twin_id || item.dtr_id;
    const seen = newest.get(id);
    if (!seen || Date.parse(item.last_ts) > Date.parse(seen.last_ts)) newest.set(id, item);
  }
  state.lastData = newest;
  // The gateway says whether the ingestor answered (ok), was skipped for fresh cache (cached), or not.
  if (answer && typeof answer.ingestor === "string") {
    state.ingestor = answer.ingestor;
    emit("health");
  }
  emit("lastdata");
}

export async function loadHealth() {
  const response = await fetch("/api/healthz", { headers: { Accept: "application/json" }, cache: "no-store" });
  setHealth(await response.json());
}

export function setHealth(health) {
  if (!health || typeof health !== "object") return;
  state.health = health;
  state.healthAt = health.ts || new Date().toISOString();
  emit("health");
}

export async function loadServices() {
  const scope = state.me?.is_staff ? "all" : "mine";
  state.services = await apiAll(`/api/registry/services/list?scope=${scope}`);
  emit("services");
}

/** Everything again: after login and after the stream resumes from a gap. */
export async function reloadAll() {
  const results = await Promise.allSettled([loadTwins(), loadLastData(), loadHealth(), loadServices()]);
  const failed = results.find(result => result.status === "rejected");
  if (failed) throw failed.reason;
}

/** Applies one portal stream event to the state. */
export function applyEvent({ event, data }) {
  const type = (data && typeof data === "object" && data.type) || event;
  const payload = data && typeof data === "object" ? (data.payload ?? data) : {};
  emit("event", { type, payload, data });
  if (type === "twin.update" || type === "twin.create" || type === "twin.upsert") {
    const id = twinId(payload);
    if (!id) return;
    const known = state.twins.has(id);
    // The gateway sends a user only events of twins they may see; staff see every event, so in "mine"
    // a staff member's new twin waits for the reload, which knows their grants.
    const visible = known || !state.me?.is_staff || state.scope === "all";
    if (visible && payload.metadata) {
      if (!known) state.fresh.add(id);
      state.twins.set(id, { ...(state.twins.get(id) || {}), ...payload });
      emit("twins");
    }
    // A card, a default grant or another field may follow: settle with one reload.
    debounce("twins", 400, () => loadTwins().catch(() => {}));
  } else if (type === "twin.delete") {
    const id = twinId(payload);
    if (state.twins.delete(id)) emit("twins");
  } else if (type.startsWith("card") || type.startsWith("grant") || type.startsWith("portal.")) {
    debounce("twins", 150, () => loadTwins().catch(() => {}));
  } else if (type.startsWith("service")) {
    debounce("services", 300, () => loadServices().catch(() => {}));
  } else if (type === "reset") {
    // The gateway no longer holds the events this stream missed: start again from the current state.
    debounce("reset", 50, () => reloadAll().catch(() => {}));
  } else if (type.startsWith("health")) {
    // A health event carries the services' checks; the gateway's own fields come from /api/healthz.
    if (Array.isArray(data?.services) && state.health) setHealth({ ...state.health, services: data.services, ts: data.ts || new Date().toISOString() });
    else debounce("health", 200, () => loadHealth().catch(() => {}));
  } else if (type.startsWith("last") || type.startsWith("data")) {
    const id = payload.twin_id;
    if (id && payload.last_ts) {
      state.lastData.set(id, payload);
      emit("lastdata");
    } else debounce("lastdata", 500, () => loadLastData().catch(() => {}));
  }
}
