// The dependency graph of a twin, drawn as SVG: the twin in the middle, what it depends on to the right
// (outgoing edges, by distance), what depends on it to the left; every neighbour links to its page.

import { s } from "./dom.js";
import { segment } from "./format.js";

const NODE_W = 200, NODE_H = 46, COL_GAP = 90, ROW_GAP = 16, PAD = 24, LABEL_H = 22;

/**
 * out and inn: the registry's graph answers ({root, nodes: [{twin_id, depth}], edges: [{from, type, to}]})
 * for direction=out and direction=in. Returns an <svg>.
 */
export function dependencyGraph(rootId, out, inn, names = new Map()) {
  const column = new Map([[rootId, 0]]);
  for (const node of out?.nodes || []) if (!column.has(node.twin_id)) column.set(node.twin_id, node.depth);
  for (const node of inn?.nodes || []) if (!column.has(node.twin_id)) column.set(node.twin_id, -node.depth);
  const edges = dedupe([...(out?.edges || []), ...(inn?.edges || [])]).filter(e => column.has(e.from) && column.has(e.to));

  const columns = [...new Set(column.values())].sort((a, b) => a - b);
  const byColumn = new Map(columns.map(c => [c, [...column].filter(([, v]) => v === c).map(([id]) => id).sort()]));
  const tallest = Math.max(...[...byColumn.values()].map(list => list.length));
  const height = PAD * 2 + LABEL_H + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const width = PAD * 2 + columns.length * NODE_W + (columns.length - 1) * COL_GAP;
  const position = new Map();
  columns.forEach((c, index) => {
    const ids = byColumn.get(c);
    const block = ids.length * NODE_H + (ids.length - 1) * ROW_GAP;
    const top = PAD + LABEL_H + (height - PAD * 2 - LABEL_H - block) / 2;
    ids.forEach((id, row) => position.set(id, { x: PAD + index * (NODE_W + COL_GAP), y: top + row * (NODE_H + ROW_GAP) }));
  });

  const svg = s("svg", {
    class: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Dependency graph of ${rootId}: ${column.size - 1} neighbour${column.size === 2 ? "" : "s"}`,
  });
  svg.appendChild(s("defs", {}, s("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }))));
  columns.forEach((c, index) => {
    const label = c === 0 ? "this twin" : c < 0 ? (c === -1 ? "used by" : `used by (${-c} steps)`) : (c === 1 ? "depends on" : `depends on (${c} steps)`);
    const text = s("text", { x: PAD + index * (NODE_W + COL_GAP) + NODE_W / 2, y: PAD + 8, "text-anchor": "middle", class: "col-label" });
    text.textContent = label;
    svg.appendChild(text);
  });
  for (const edge of edges) {
    const a = position.get(edge.from), b = position.get(edge.to);
    const forward = a.x <= b.x;
    const x1 = forward ? a.x + NODE_W : a.x, x2 = forward ? b.x : b.x + NODE_W;
    const y1 = a.y + NODE_H / 2, y2 = b.y + NODE_H / 2;
    const bend = a.x === b.x ? 60 : (x2 - x1) / 2;
    const d = a.x === b.x
      ? `M${a.x + NODE_W},${y1} C${a.x + NODE_W + bend},${y1} ${b.x + NODE_W + bend},${y2} ${b.x + NODE_W},${y2}`
      : `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
    svg.appendChild(s("path", { d, class: "edge", "marker-end": "url(#arrow)" }));
    const label = s("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle", class: "edge-label" });
    label.textContent = edge.type;
    svg.appendChild(label);
  }
  for (const [id, { x, y }] of position) {
    const root = id === rootId;
    const box = [s("rect", { x, y, width: NODE_W, height: NODE_H, rx: 8 }), ...nodeText(id, names.get(id), x, y)];
    const title = s("title");
    title.textContent = id;
    box.push(title);
    svg.appendChild(root
      ? s("g", { class: "node root" }, ...box)
      : s("a", { class: "node", href: `#/twin/${segment(id)}`, "aria-label": `Open ${id}` }, ...box));
  }
  return svg;
}

/** The twin's name over its id when the portal knows it, else the id alone. */
function nodeText(id, name, x, y) {
  const cut = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
  if (!name || name === id) {
    const text = s("text", { x: x + NODE_W / 2, y: y + NODE_H / 2 + 4, "text-anchor": "middle", class: "id" });
    text.textContent = cut(id, 25);
    return [text];
  }
  const title = s("text", { x: x + NODE_W / 2, y: y + 19, "text-anchor": "middle", class: "name" });
  title.textContent = cut(name, 26);
  const sub = s("text", { x: x + NODE_W / 2, y: y + 35, "text-anchor": "middle", class: "id" });
  sub.textContent = cut(id, 28);
  return [title, sub];
}

function dedupe(edges) {
  const seen = new Set();
  return edges.filter(edge => {
    const key = `${edge.from}\u0000${edge.type}\u0000${edge.to}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
