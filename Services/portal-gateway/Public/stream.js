// The portal stream (GET /api/portal/stream): Server-Sent Events read with fetch, so the access token
// goes in the Authorization header (never in the URL) and a reconnect sends Last-Event-ID to resume
// where it stopped. A silent connection (no event and no heartbeat for a while) counts as dropped.

import { accessToken, ApiError } from "./api.js";

const SILENCE_MS = 45_000;
const MAX_BACKOFF_MS = 15_000;

/**
 * Opens the stream and keeps it open until `close()`.
 * handlers: onEvent({event, id, data}), onOpen(resumed), onDown(retryInMs, reason).
 */
export function openStream({ tenant, onEvent, onOpen, onDown, onAuthLost }) {
  let lastId = null;
  let closed = false;
  let controller = null;
  let attempt = 0;
  let silenceTimer = null;
  let retryTimer = null;
  let everOpened = false;

  const armSilence = () => {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => controller?.abort(new Error("the stream went silent")), SILENCE_MS);
  };

  async function connect() {
    if (closed) return;
    controller = new AbortController();
    let reason = "the connection dropped";
    try {
      const token = await accessToken();
      const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token}` };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const query = tenant ? `?tenant=${encodeURIComponent(tenant)}` : "";
      const response = await fetch(`/api/portal/stream${query}`, {
        headers, signal: controller.signal, cache: "no-store", credentials: "same-origin",
      });
      if (response.status === 401) {
        await accessToken(true);
        throw new Error("the access token was refused");
      }
      if (!response.ok || !response.body) throw new Error(`the gateway answered ${response.status}`);
      attempt = 0;
      armSilence();
      onOpen?.(everOpened);
      everOpened = true;
      await read(response.body.getReader());
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) { closed = true; onAuthLost?.(); return; }
      if (error && error.message) reason = error.message;
    } finally {
      clearTimeout(silenceTimer);
    }
    if (closed) return;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    attempt = Math.min(attempt + 1, 5);
    onDown?.(delay, reason);
    retryTimer = setTimeout(connect, delay);
  }

  async function read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    let event = { event: "message", data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      armSilence();
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (event.id !== null) lastId = event.id;
          if (event.data.length) dispatch(event);
          event = { event: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue; // heartbeat comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "event") event.event = text;
        else if (field === "data") event.data.push(text);
        else if (field === "id") event.id = text;
      }
    }
  }

  function dispatch(event) {
    const text = event.data.join("\n");
    let data = text;
    try { data = JSON.parse(text); } catch { /* plain text data stays text */ }
    try { onEvent?.({ event: event.event, id: event.id, data }); } catch (error) { console.warn("stream handler", error); }
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      controller?.abort();
    },
    /** Drops the connection now and reconnects (used after a grant change or a long sleep). */
    reconnect() { controller?.abort(new Error("reconnecting")); },
  };
}
