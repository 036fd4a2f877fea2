// A twin's page: metadata, interfaces and declared streams, its dependency graph, its artifacts (list,
// upload, download, delete for staff) and its change history; refreshed live from the portal stream.

import { api, accessToken, ApiError } from "./api.js";
import { h, icon, mount, toast, confirmDialog } from "./dom.js";
import { state, on } from "./store.js";
import { ago, bytes, domains, sourceText, status, streamText, twinId, twinName, when, segment } from "./format.js";
import { dependencyGraph } from "./graph.js";

export function twinView(id) {
  const root = document.getElementById("main");
  const base = `/api/registry/twins/${segment(id)}`;
  const overview = h("div", { id: "twin-overview" }, h("div.panel.empty", {}, "Loading…"));
  const graphPanel = h("section.panel", { id: "twin-graph", "aria-labelledby": "graph-title" },
    h("h2", { id: "graph-title" }, "Dependencies", h("span.hint", {}, "two steps each way")), h("p.muted", {}, "Loading…"));
  const artifactsBody = h("div", {}, h("p.muted", {}, "Loading…"));
  const historyBody = h("div", {}, h("p.muted", {}, "Loading…"));
  let alive = true;

  mount(root,
    h("a.crumbs", { href: "#/twins" }, icon("back"), "All twins"),
    overview,
    graphPanel,
    h("div.cols", {},
      h("section.panel", { id: "twin-artifacts", "aria-labelledby": "artifacts-title" },
        h("h2", { id: "artifacts-title" }, "Artifacts"), artifactsBody, uploadForm()),
      h("section.panel", { id: "twin-history", "aria-labelledby": "history-title" },
        h("h2", { id: "history-title" }, "History", h("span.hint", {}, "newest first")), historyBody)));

  async function loadTwin() {
    try {
      const twin = await api(base);
      if (alive) mount(overview, header(twin), details(twin));
    } catch (error) {
      if (!alive) return;
      const text = error instanceof ApiError && (error.status === 404 || error.status === 403)
        ? `This twin does not exist or you have no grant to it (${error.message}).` : error.message;
      mount(overview, h("div.panel.empty", { role: "alert" }, text));
    }
  }

  async function loadGraph() {
    try {
      const [out, inn] = await Promise.all([api(`${base}/graph?direction=out&depth=2`), api(`${base}/graph?direction=in&depth=2`)]);
      if (!alive) return;
      const count = new Set([...(out.nodes || []), ...(inn.nodes || [])].map(n => n.twin_id)).size - 1;
      mount(graphPanel,
        h("h2", { id: "graph-title" }, "Dependencies", h("span.hint", {}, `${Math.max(0, count)} neighbour${count === 1 ? "" : "s"}, two steps each way`)),
        count > 0 ? h("div.graph-wrap", {}, dependencyGraph(id, out, inn, graphNames()))
          : h("p.muted", {}, "No dependencies: nothing this twin uses or is used by is registered."));
    } catch (error) {
      if (alive) mount(graphPanel, h("h2", { id: "graph-title" }, "Dependencies"), h("p.muted", { role: "alert" }, error.message));
    }
  }

  async function loadArtifacts() {
    try {
      const list = await api(`${base}/artifacts`);
      const items = Array.isArray(list) ? list : list.items || [];
      if (!alive) return;
      if (!items.length) return mount(artifactsBody, h("p.muted", { id: "artifacts-empty" }, "No artifacts yet."));
      mount(artifactsBody, h("div.table-wrap", {}, h("table", { id: "artifacts-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th.num", {}, "Size"), h("th.hide-sm", {}, "Uploaded"), h("th", {}, h("span.sr-only", {}, "Actions")))),
        h("tbody", {}, items.map(artifactRow)))));
    } catch (error) {
      if (alive) mount(artifactsBody, h("p.muted", { role: "alert" }, error.message));
    }
  }

  function artifactRow(item) {
    return h("tr", { dataset: { artifact: item.name } },
      h("td", {}, h("span.mono", {}, item.name), h("div.muted.hide-sm", {}, item.content_type || "")),
      h("td.num", {}, bytes(item.size)),
      h("td.hide-sm", { title: item.sha256 ? `SHA-256 ${item.sha256}` : "" }, when(item.created_at), h("div.muted", {}, item.created_by || "")),
      h("td.act", {},
        h("button.btn.btn-sm", { type: "button", "aria-label": `Download ${item.name}`, onclick: () => download(item.name) }, icon("download"), "Download"),
        state.me.is_staff ? h("button.btn.btn-sm.btn-ghost", {
          type: "button", "aria-label": `Delete ${item.name}`, onclick: () => remove(item.name),
        }, icon("trash")) : null));
  }

  // The gateway answers a download with a redirect to a short-lived S3 URL, which a fetch could neither
  // read (CORS) nor reach (connect-src 'self'). A navigation can: it carries the HttpOnly session cookie
  // (set with every access token, so it is fresh after accessToken()) and follows the redirect in a new tab.
  async function download(name) {
    try {
      await accessToken();
      const link = h("a", { href: `${base}/artifacts/${encodeURIComponent(name)}`, target: "_blank", rel: "noopener", hidden: true });
      document.body.appendChild(link);
      link.click();
      link.remove();
    } catch (error) {
      toast(error.message, "bad");
    }
  }

  async function remove(name) {
    if (!(await confirmDialog("Delete artifact?", `${name} will be removed from ${id}.`, "Delete"))) return;
    try {
      await api(`${base}/artifacts/${encodeURIComponent(name)}`, { method: "DELETE" });
      toast(`Deleted ${name}.`);
      loadArtifacts();
    } catch (error) { toast(error.message, "bad"); }
  }

  function uploadForm() {
    const file = h("input", { id: "artifact-file", type: "file", required: true });
    const name = h("input", { id: "artifact-name", type: "text", placeholder: "defaults to the file's name", maxlength: 200 });
    const error = h("p.form-error", { role: "alert", hidden: true });
    const button = h("button.btn.btn-primary", { type: "submit", id: "artifact-upload" }, icon("upload"), "Upload");
    const form = h("form.upload", { novalidate: true, "aria-label": "Upload an artifact" },
      h("div.field", {}, h("label", { for: "artifact-file" }, "File"), file),
      h("div.field", {}, h("label", { for: "artifact-name" }, "Name"), name),
      button, error);
    form.addEventListener("submit", async event => {
      event.preventDefault();
      error.hidden = true;
      const chosen = file.files[0];
      const target = (name.value.trim() || chosen?.name || "").trim();
      if (!chosen) return fail("Choose a file to upload.", file);
      if (/[/\\]|\.\./.test(target)) return fail("A name may not contain /, \\ or ..", name);
      button.disabled = true;
      try {
        const blob = chosen.type ? chosen : new Blob([chosen], { type: "application/octet-stream" });
        await api(`${base}/artifacts/${encodeURIComponent(target)}`, { method: "PUT", body: blob, headers: { "Content-Type": blob.type } });
        toast(`Uploaded ${target}.`);
        form.reset();
        loadArtifacts();
      } catch (failure) {
        fail(failure.message);
      } finally {
        button.disabled = false;
      }
    });
    function fail(text, input) {
      error.textContent = text;
      error.hidden = false;
      input?.focus();
    }
    return form;
  }

  async function loadHistory() {
    try {
      const list = await api(`${base}/history`);
      const items = Array.isArray(list) ? list : list.items || [];
      if (!alive) return;
      mount(historyBody, items.length ? h("ol.history", { id: "history-list" }, items.slice(0, 100).map(revision)) : h("p.muted", {}, "No history."));
    } catch (error) {
      if (alive) mount(historyBody, h("p.muted", { role: "alert" }, error.message));
    }
  }

  loadTwin(); loadGraph(); loadArtifacts(); loadHistory();
  const off = on("event", ({ type, payload }) => {
    const about = payload && (payload.twin_id || payload["@id"] || payload.from || payload.to);
    if (type.startsWith("twin") && twinId(payload) === id) { loadTwin(); loadHistory(); loadGraph(); }
    else if (type.startsWith("artifact") && payload.twin_id === id) loadArtifacts();
    else if (type.startsWith("relationship") && (payload.from === id || payload.to === id || about === id)) loadGraph();
  });
  return () => { alive = false; off(); };
}

/** Names of the twins the portal knows, for the graph's labels. */
function graphNames() {
  return new Map([...state.twins.values()].map(twin => [twinId(twin), twinName(twin)]));
}

function header(twin) {
  const lifecycle = status(twin);
  const ui = twin.interfaces?.api || state.cards.get(twinId(twin))?.ui_url;
  return h("div.page-head", {},
    h("div", {},
      h("h1", { id: "twin-title" }, twinName(twin), " ", h("span.badge", { class: `status-${lifecycle}` }, lifecycle)),
      h("p.sub", {}, h("span.mono", {}, twinId(twin)), " · tenant ", twin.tenant || "—",
        twin.updated_at ? ` · updated ${ago(twin.updated_at)}` : "")),
    ui ? h("div.actions", {}, h("a.btn.btn-primary", { href: ui, target: "_blank", rel: "noopener" }, "Open twin UI", icon("external"))) : null);
}

function details(twin) {
  const metadata = twin.metadata || {};
  const skip = new Set(["name", "status", "domain"]);
  const extra = Object.entries(metadata).filter(([key]) => !skip.has(key));
  const interfaces = twin.interfaces || {};
  const streams = Array.isArray(interfaces.data_streams) ? interfaces.data_streams : [];
  const otherInterfaces = Object.entries(interfaces).filter(([key]) => key !== "data_streams" && key !== "api");
  const deps = twin.dependencies || {};
  const last = state.lastData.get(twinId(twin));
  return h("div.cols", {},
    h("section.panel", { "aria-labelledby": "meta-title" },
      h("h2", { id: "meta-title" }, "Metadata"),
      h("dl.dl", {},
        h("dt", {}, "Domains"), h("dd", {}, h("div.chips", {}, domains(twin).map(d => h("span.chip.chip-domain", {}, d)), domains(twin).length ? null : "—")),
        extra.map(([key, value]) => [h("dt", {}, key), h("dd", {}, display(value))]),
        h("dt", {}, "Version"), h("dd", {}, String(twin.version ?? "—")),
        h("dt", {}, "Created"), h("dd", {}, twin.created_at ? when(twin.created_at) : "—"),
        h("dt", {}, "Last data"), h("dd", {}, last ? `${ago(last.last_ts)}${sourceText(last) ? ` from ${sourceText(last)}` : ""}` : "none received"))),
    h("section.panel", { "aria-labelledby": "iface-title" },
      h("h2", { id: "iface-title" }, "Interfaces"),
      h("dl.dl", {},
        h("dt", {}, "API"), h("dd", {}, interfaces.api ? h("a", { href: interfaces.api, target: "_blank", rel: "noopener" }, interfaces.api) : "—"),
        otherInterfaces.map(([key, value]) => [h("dt", {}, key), h("dd", {}, display(value))]),
        h("dt", {}, "Data streams"),
        h("dd", {}, streams.length ? h("ul.streams", { id: "twin-streams" }, streams.map(stream => h("li", {}, h("code", {}, streamText(stream))))) : "none declared"),
        h("dt", {}, "Depends on"),
        h("dd", {}, [...(deps.static || []), ...(deps.dynamic || [])].length
          ? h("div.chips", {}, [...(deps.static || []), ...(deps.dynamic || [])].map(dep =>
            h("a.chip", { href: `#/twin/${segment(typeof dep === "string" ? dep : dep.id || dep["@id"] || "")}` }, typeof dep === "string" ? dep : JSON.stringify(dep))))
          : "nothing"))));
}

function revision(item) {
  const changed = Array.isArray(item.changed) ? item.changed : item.changed ? Object.keys(item.changed) : [];
  return h("li", {},
    h("span.ver", {}, `v${item.version ?? "?"}`),
    h("span.what", {}, `${item.op || "change"}${changed.length ? ` · ${changed.join(", ")}` : ""}`),
    h("span.when", {}, `${when(item.at)} · ${item.actor || "unknown"}`));
}

function display(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return h("code", {}, JSON.stringify(value));
  return String(value);
}
