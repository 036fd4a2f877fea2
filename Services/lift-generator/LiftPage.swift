/// The Lift UI: one self-contained page that polls the JSON API and draws its charts itself.
enum LiftPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Lift Maintenance · DTP</title>
          <link rel="stylesheet" href="/assets/twin.css">
          <link rel="icon" href="data:,">
        </head>
        <body>
          <header class="bar">
            <h1>Lift Maintenance</h1>
            <span class="sub" id="ident">dt:Lift_001</span>
            <span class="spacer"></span>
            <span class="pill" id="mqtt">MQTT</span>
            <span class="pill" id="live">connecting</span>
          </header>
          <main>
            <section class="tiles">
              <div class="tile"><div class="label">Vibration RMS</div><div class="value" id="rms">–</div></div>
              <div class="tile"><div class="label">Threshold</div><div class="value" id="threshold">–</div></div>
              <div class="tile"><div class="label">Alerts in window</div><div class="value" id="alert-count">–</div></div>
              <div class="tile"><div class="label">Alerts queued / overflow</div><div class="value" id="queue">–</div></div>
            </section>
            <section class="grid">
              <div class="card">
                <h2>Vibration RMS <span class="hint">
                  last <select id="mins"><option>5</option><option>15</option><option>30</option><option selected>60</option></select> min
                </span></h2>
                <svg class="chart" id="chart"></svg>
                <div class="legend"><span><i style="background:#2563eb"></i>RMS</span>
                  <span><i style="background:#d92d20"></i>threshold and alerts</span></div>
              </div>
              <div class="card">
                <h2>Controls</h2>
                <form class="controls" id="threshold-form">
                  <label for="threshold-input" class="muted">Alert threshold</label>
                  <input type="number" id="threshold-input" step="0.05" min="0" max="1000">
                  <button type="submit">Set</button>
                </form>
                <div class="note" id="threshold-note"></div>
                <div class="controls" style="margin-top:14px">
                  <button class="danger" id="trigger">Trigger test alert</button>
                </div>
                <div class="note" id="trigger-note">Publishes a test vibration alert with the current RMS.</div>
                <h2 style="margin-top:18px">Stack</h2>
                <table><tbody id="stack"></tbody></table>
              </div>
            </section>
            <section class="card" style="margin-top:14px">
              <h2>Alerts <span class="hint">newest first</span></h2>
              <div class="scroll"><table>
                <thead><tr><th>time</th><th>lift</th><th>RMS</th><th>threshold</th><th></th></tr></thead>
                <tbody id="alerts"><tr><td colspan="5" class="muted">no alerts in this window</td></tr></tbody>
              </table></div>
            </section>
          </main>
          <footer>DTP · Lift twin stack · data refreshes every 3 s</footer>
          <script type="module">
            import { lineChart, getJSON, postJSON, poll, fmtNum, fmtTime, ms } from "/assets/charts.js";
            const $ = id => document.getElementById(id);
            let threshold = null;

            async function refresh() {
              const mins = Number($("mins").value);
              const [status, points, alerts] = await Promise.all([
                getJSON("/api/status"), getJSON(`/api/vibration?mins=${mins}`), getJSON(`/api/alerts?mins=${mins}`),
              ]);
              threshold = status.threshold;
              $("ident").textContent = `${status.lift_id} · tick ${status.interval_sec}s`;
              const rms = status.last ? status.last.rms : null;
              $("rms").textContent = fmtNum(rms, 3);
              $("rms").className = "value" + (rms !== null && rms >= threshold ? " bad" : "");
              $("threshold").textContent = fmtNum(threshold, 2);
              if (document.activeElement !== $("threshold-input")) $("threshold-input").value = threshold;
              $("alert-count").textContent = alerts.length;
              $("queue").innerHTML = `${status.mqtt.queued_qos1}<small>/ ${status.mqtt.overflow}</small>`;
              $("mqtt").className = "pill " + (status.mqtt_connected ? "ok" : "bad");
              $("mqtt").textContent = status.mqtt_connected ? "MQTT connected" : "MQTT reconnecting";
              $("stack").innerHTML = [
                ["telemetry", status.telemetry_topic], ["alerts", status.alert_topic],
                ["published", `${status.mqtt.published_qos0} telemetry · ${status.mqtt.published_qos1} alerts`],
                ["InfluxDB", status.influx_local ? "stack InfluxDB" : "in-memory (60 min)"],
              ].map(([k, v]) => `<tr><td class="muted">${k}</td><td>${v}</td></tr>`).join("");
              lineChart($("chart"), [{
                name: "RMS", color: "#2563eb", fill: true,
                points: points.map(p => [ms(p.ts), p.rms]),
                markers: alerts.map(a => [ms(a.ts), a.rms]),
              }], { minutes: mins, threshold, yMin: 0 });
              const rows = alerts.slice().reverse().slice(0, 200).map(a =>
                `<tr><td>${fmtTime(ms(a.ts))}</td><td>${a.lift_id}</td><td>${fmtNum(a.rms, 3)}</td>` +
                `<td>${fmtNum(a.threshold, 2)}</td><td><span class="badge alert">alert</span></td></tr>`);
              $("alerts").innerHTML = rows.join("") ||
                '<tr><td colspan="5" class="muted">no alerts in this window</td></tr>';
            }

            $("threshold-form").addEventListener("submit", async event => {
              event.preventDefault();
              const value = Number($("threshold-input").value);
              try {
                const answer = await postJSON("/api/threshold", { threshold: value });
                $("threshold-note").textContent = `Threshold set to ${answer.threshold}; applies from the next tick.`;
                $("threshold-input").blur();
                refresh();
              } catch (error) { $("threshold-note").textContent = error.message; }
            });
            $("trigger").addEventListener("click", async () => {
              try {
                const answer = await postJSON("/api/trigger_alert");
                $("trigger-note").textContent = `Alert sent at ${fmtTime(ms(answer.alert.ts))} (RMS ${answer.alert.rms}).`;
                refresh();
              } catch (error) { $("trigger-note").textContent = error.message; }
            });
            $("mins").addEventListener("change", refresh);
            poll(refresh, 3000, $("live"));
          </script>
        </body>
        </html>
        """#
}
