// Formatting of times, sizes and server error bodies.

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(timestamp, now = Date.now()) {
  const ms = typeof timestamp === "number" ? timestamp : Date.parse(timestamp);
  if (!Number.isFinite(ms)) return "never";
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** 24-hour local time, with the date when it is not today. */
export function when(timestamp) {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return "–";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" })} ${time}`;
}

export function bytes(size) {
  if (!Number.isFinite(size)) return "–";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = size / 1024, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The message of an error body: `{"detail": …}`, or the earlier API's `{"field": ["message"]}`. */
export function detailText(body, status) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    if (body.detail !== undefined) return JSON.stringify(body.detail);
    const parts = Object.entries(body).map(([field, value]) =>
      `${field}: ${Array.isArray(value) ? value.join(" ") : String(value)}`);
    if (parts.length) return parts.join("; ");
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
  return `The server answered ${status}.`;
}

/** The twin's display name: metadata.name, else its id. */
export function twinName(twin) {
  return (twin.metadata && typeof twin.metadata.name === "string" && twin.metadata.name) || twin.name || twinId(twin);
}

export function twinId(twin) { return twin.twin_id || twin["@id"] || twin.id || ""; }

export function domains(twin) {
  const value = twin.metadata && twin.metadata.domain;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string" && value) return [value];
  return [];
}

export function status(twin) {
  return (twin.metadata && typeof twin.metadata.status === "string" && twin.metadata.status) || "instantiated";
}

/** A data stream as text: "MQTT:topic" or {protocol, topic}. */
export function streamText(stream) {
  if (typeof stream === "string") return stream;
  if (stream && typeof stream === "object") return `${stream.protocol || "MQTT"}:${stream.topic || "?"}`;
  return String(stream);
}

/** Where last data came from: the ingestor gives a stream (text or {protocol, topic}) or a topic. */
export function sourceText(item) {
  if (!item) return "";
  const source = item.source ?? item.stream ?? item.topic;
  if (!source) return "";
  return typeof source === "object" ? streamText(source) : String(source);
}

/** A path segment for a twin id: percent-encoded, except ":" and "@", which paths allow and twin ids use. */
export function segment(text) {
  return encodeURIComponent(text).replace(/%3A/gi, ":").replace(/%40/g, "@");
}
