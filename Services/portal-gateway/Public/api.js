// The gateway's API: the session (access and refresh tokens), silent refresh, and JSON calls whose
// errors carry the server's `detail`.
//
// The tokens live in localStorage so a reload keeps the session. A refresh rotates the refresh token,
// and reusing a rotated one revokes the whole session, so two tabs must never refresh at once: the
// refresh runs under a Web Lock, and a tab that finds another tab already rotated the tokens takes them.

import { detailText } from "./format.js";

const KEY = "dtp.session";
const LOCK = "dtp.session.refresh";
/** Refresh this long before the access token expires. */
const EARLY_MS = 30_000;

/** An API failure with the HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

const listeners = new Set();
/** Called with no argument when the session ends (logout, expiry, another tab logged out). */
export function onSessionEnd(listener) { listeners.add(listener); }
function ended(reason) { for (const listener of listeners) listener(reason); }

function load() {
  try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch { return null; }
}
function save(session) {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

addEventListener("storage", event => {
  if (event.key === KEY && !event.newValue) ended("signed out in another tab");
});

/** The `exp` of a JWT in milliseconds, or 0 when it cannot be read. */
function expiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4)));
    return typeof claims.exp === "number" ? claims.exp * 1000 : 0;
  } catch { return 0; }
}

export function hasSession() { return Boolean(load()?.refresh); }

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

/** Logs in; throws an ApiError with the server's detail (401, 429 with its Retry-After, 400). */
export async function login(username, password) {
  const response = await fetch("/api/token/", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await readBody(response);
  if (!response.ok) {
    let message = detailText(body, response.status);
    const retry = response.headers.get("Retry-After");
    if (response.status === 429 && retry) message += ` Try again in ${retry} s.`;
    throw new ApiError(response.status, message, body);
  }
  save({ access: body.access, refresh: body.refresh });
}

async function refreshNow(stale) {
  const run = async () => {
    const current = load();
    if (!current?.refresh) throw new ApiError(401, "Your session has ended. Please log in again.");
    // Another tab refreshed while this one waited for the lock: use its tokens.
    if (stale && current.access !== stale && expiry(current.access) - Date.now() > EARLY_MS) return current.access;
    const response = await fetch("/api/token/refresh/", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh: current.refresh }),
    });
    const body = await readBody(response);
    if (!response.ok) {
      if (response.status === 401 || response.status === 400 || response.status === 403) {
        save(null);
        ended("Your session has ended. Please log in again.");
      }
      throw new ApiError(response.status, detailText(body, response.status), body);
    }
    save({ access: body.access, refresh: body.refresh || current.refresh });
    return body.access;
  };
  if (navigator.locks) return navigator.locks.request(LOCK, run);
  return run();
}

let inflight = null;
/** A valid access token, refreshed silently when it is about to expire. */
export async function accessToken(force = false) {
  const current = load();
  if (!current?.refresh) throw new ApiError(401, "Not logged in.");
  if (!force && current.access && expiry(current.access) - Date.now() > EARLY_MS) return current.access;
  if (!inflight) inflight = refreshNow(current.access).finally(() => { inflight = null; });
  return inflight;
}

/**
 * Calls the API with the access token; retries once after a refresh when the token was refused.
 * Returns the parsed body (and `headers` when `raw` is set); throws ApiError with the server's detail.
 */
export async function api(path, { method = "GET", body, headers = {}, raw = false, signal } = {}) {
  const send = async token => {
    const init = { method, signal, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    init.headers.Authorization = `Bearer ${token}`;
    if (body instanceof Blob) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    return fetch(path, init);
  };
  let response = await send(await accessToken());
  if (response.status === 401) response = await send(await accessToken(true));
  const parsed = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, detailText(parsed, response.status), parsed);
  return raw ? { body: parsed, headers: response.headers, response } : parsed;
}

/** Every page of a list that links to the next one (`Link: <…>; rel="next"`), up to `limit` pages. */
export async function apiAll(path, limit = 20) {
  const items = [];
  let next = path;
  for (let page = 0; next && page < limit; page++) {
    const { body, headers } = await api(next, { raw: true });
    if (Array.isArray(body)) items.push(...body);
    else if (body && Array.isArray(body.items)) items.push(...body.items);
    const link = headers.get("Link") || "";
    const match = /<([^>]+)>;\s*rel="?next"?/.exec(link);
    next = match ? match[1] : null;
  }
  return items;
}

/** Ends the session on the server (best effort) and here. */
export async function logout() {
  const current = load();
  if (current?.access) {
    try {
      await fetch("/api/logout", {
        method: "POST", credentials: "same-origin",
        headers: { Authorization: `Bearer ${current.access}`, "Content-Type": "application/json" },
        body: JSON.stringify({ refresh: current.refresh }),
      });
    } catch { /* the local session ends regardless */ }
  }
  save(null);
}
