extension TwinStackAssets {
    /// The chart and polling module both twin UIs import (served at `/assets/charts.js`): SVG line
    /// charts drawn by hand, so the pages need no CDN and no build step.
    public static let chartsModule = #"""
        const SVG = "http://www.w3.org/2000/svg";

        function el(name, attrs, parent) {
          const node = document.createElementNS(SVG, name);
          for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
          if (parent) parent.appendChild(node);
          return node;
        }

        function niceStep(span, count) {
          const raw = span / Math.max(1, count);
          const mag = Math.pow(10, Math.floor(Math.log10(raw)));
          const norm = raw / mag;
          return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
        }

        export function fmtTime(ms) {
          const d = new Date(ms);
          return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
        }

        export function fmtNum(v, digits = 2) {
          return v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(digits);
        }

        // series: [{ name, color, points: [[ms, value]], step }]; options: { minutes, threshold, yMin, unit }
        export function lineChart(svg, series, options = {}) {
          const width = svg.clientWidth || 600, height = svg.clientHeight || 240;
          const pad = { l: 46, r: 12, t: 10, b: 24 };
          while (svg.firstChild) svg.removeChild(svg.firstChild);
          svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
          const now = Date.now();
          const x0 = now - (options.minutes || 15) * 60000, x1 = now;
          const all = series.flatMap(s => s.points.filter(p => p[0] >= x0).map(p => p[1]));
          if (options.threshold !== undefined) all.push(options.threshold);
          if (all.length === 0 || series.every(s => s.points.length === 0)) {
            el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, svg)
              .textContent = "waiting for data…";
            return;
          }
          let lo = options.yMin !== undefined ? Math.min(options.yMin, ...all) : Math.min(...all);
          let hi = Math.max(...all);
          if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
          const step = niceStep(hi - lo, 4);
          lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
          const sx = t => pad.l + (t - x0) / (x1 - x0) * (width - pad.l - pad.r);
          const sy = v => height - pad.b - (v - lo) / (hi - lo) * (height - pad.t - pad.b);
          for (let v = lo; v <= hi + step / 2; v += step) {
            el("line", { x1: pad.l, x2: width - pad.r, y1: sy(v), y2: sy(v), class: "grid-line" }, svg);
            el("text", { x: pad.l - 6, y: sy(v) + 4, "text-anchor": "end" }, svg).textContent =
              Math.abs(step) < 0.01 ? v.toFixed(3) : Math.abs(step) < 1 ? v.toFixed(2) : v.toFixed(0);
          }
          const ticks = 5;
          for (let i = 0; i <= ticks; i++) {
            const t = x0 + (x1 - x0) * i / ticks;
            el("text", { x: sx(t), y: height - 6, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" }, svg)
              .textContent = fmtTime(t).slice(0, 5);
          }
          if (options.threshold !== undefined) {
            el("line", { x1: pad.l, x2: width - pad.r, y1: sy(options.threshold), y2: sy(options.threshold),
                         class: "threshold" }, svg);
          }
          for (const s of series) {
            const pts = s.points.filter(p => p[0] >= x0);
            if (pts.length === 0) continue;
            let d = "";
            pts.forEach((p, i) => {
              const x = sx(p[0]).toFixed(1), y = sy(p[1]).toFixed(1);
              if (i === 0) d += `M${x},${y}`;
              else if (s.step) d += `H${x}V${y}`;
              else d += `L${x},${y}`;
            });
            if (s.fill) {
              el("path", { d: `${d}V${sy(lo)}H${sx(pts[0][0])}Z`, fill: s.color, opacity: 0.08, stroke: "none" }, svg);
            }
            el("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.8, "stroke-linejoin": "round" }, svg);
            for (const m of s.markers || []) {
              if (m[0] < x0) continue;
              el("circle", { cx: sx(m[0]), cy: sy(m[1]), r: 3.5, fill: "#d92d20", stroke: "#fff", "stroke-width": 1 }, svg);
            }
          }
        }

        // A state timeline: one band whose segments take the colour of the state from each point until the
        // next. points: [[ms, state]]; options: { minutes, colors: {STATE: "#hex"} }
        export function stateTimeline(svg, points, options = {}) {
          const width = svg.clientWidth || 600, height = svg.clientHeight || 110;
          const pad = { l: 46, r: 12, t: 10, b: 24 };
          while (svg.firstChild) svg.removeChild(svg.firstChild);
          svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
          const now = Date.now();
          const x0 = now - (options.minutes || 15) * 60000, x1 = now;
          const sx = t => pad.l + (Math.max(t, x0) - x0) / (x1 - x0) * (width - pad.l - pad.r);
          const shown = points.filter((p, i) => p[0] >= x0 || (points[i + 1] && points[i + 1][0] >= x0));
          if (shown.length === 0) {
            el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, svg)
              .textContent = "waiting for data…";
            return;
          }
          const colors = options.colors || {};
          const top = pad.t, band = height - pad.t - pad.b;
          shown.forEach((p, i) => {
            const start = sx(p[0]);
            const end = i + 1 < shown.length ? sx(shown[i + 1][0]) : sx(now);
            if (end - start <= 0) return;
            const rect = el("rect", { x: start, y: top, width: end - start, height: band, fill: colors[p[1]] || "#98a2b3",
                                      class: "segment", "data-state": p[1] }, svg);
            el("title", {}, rect).textContent = `${p[1]} from ${fmtTime(p[0])}`;
          });
          const ticks = 5;
          for (let i = 0; i <= ticks; i++) {
            const t = x0 + (x1 - x0) * i / ticks;
            el("text", { x: sx(t), y: height - 6, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" }, svg)
              .textContent = fmtTime(t).slice(0, 5);
          }
        }

        export async function getJSON(url) {
          const response = await fetch(url, { headers: { Accept: "application/json" } });
          if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
          return response.json();
        }

        export async function postJSON(url, body) {
          const response = await fetch(url, {
            method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify(body || {}),
          });
          const data = await response.json().catch(() => ({}));
          if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
          return data;
        }

        // Runs `refresh` now and every `ms`, and shows whether the last call worked in `status`.
        export function poll(refresh, ms, status) {
          const run = async () => {
            try {
              await refresh();
              if (status) { status.className = "pill ok"; status.textContent = "live"; }
            } catch (error) {
              if (status) { status.className = "pill bad"; status.textContent = "offline"; }
              console.warn(error);
            }
          };
          run();
          return setInterval(run, ms);
        }

        export function ms(ts) { return Date.parse(ts); }
        """#
}
