/// The Energy & HVAC UI: one self-contained page that polls the JSON API and draws its charts itself.
enum HVACPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Energy &amp; HVAC · DTP</title>
          <link rel="stylesheet" href="/assets/twin.css">
          <link rel="icon" href="data:,">
        </head>
        <body>
          <header class="bar">
            <h1>Energy &amp; HVAC</h1>
            <span class="sub" id="ident">dt:EnergyHVAC_001</span>
            <span class="spacer"></span>
            <span class="pill" id="mqtt">MQTT</span>
            <span class="pill" id="live">connecting</span>
          </header>
          <main>
            <section class="tiles">
              <div class="tile"><div class="label">HVAC state</div><div class="value" id="state">–</div></div>
              <div class="tile"><div class="label">Power</div><div class="value" id="kw">–</div></div>
              <div class="tile"><div class="label">Energy in window</div><div class="value" id="kwh">–</div></div>
              <div class="tile"><div class="label">Cost in window</div><div class="value" id="cost">–</div></div>
              <div class="tile"><div class="label">Room temperature</div><div class="value" id="temp">–</div></div>
            </section>
            <section class="grid even">
              <div class="card">
                <h2>Power <span class="hint">
                  last <select id="mins"><option>5</option><option selected>15</option><option>30</option><option>60</option></select> min
                </span></h2>
                <svg class="chart" id="power"></svg>
                <div class="legend"><span><i style="background:#2563eb"></i>kW</span></div>
              </div>
              <div class="card">
                <h2>Energy <span class="hint">cumulative in the window</span></h2>
                <svg class="chart" id="kwh-chart"></svg>
                <div class="legend"><span><i style="background:#7a5af8"></i>kWh</span></div>
              </div>
            </section>
            <section class="grid even">
              <div class="card">
                <h2>Cumulative cost</h2>
                <svg class="chart" id="cost-chart"></svg>
                <div class="legend"><span><i style="background:#12b76a"></i>cost at <span id="rate">–</span> per kWh</span></div>
              </div>
              <div class="card">
                <h2>HVAC state <span class="hint">timeline</span></h2>
                <svg class="chart timeline" id="state-timeline"></svg>
                <div class="legend"><span><i class="IDLE"></i>IDLE</span><span><i class="COOLING"></i>COOLING</span>
                  <span><i class="HEATING"></i>HEATING</span></div>
              </div>
            </section>
            <section class="grid">
              <div class="card">
                <h2>Room temperature <span class="hint" id="signal">–</span></h2>
                <svg class="chart" id="temperature"></svg>
                <div class="legend"><span><i style="background:#f79009"></i>°C, published every few seconds</span></div>
              </div>
              <div class="card">
                <h2>HVAC events <span class="hint">newest first</span></h2>
                <div class="scroll"><table>
                  <thead><tr><th>time</th><th>site</th><th>state</th></tr></thead>
                  <tbody id="events"><tr><td colspan="3" class="muted">no state changes in this window</td></tr></tbody>
                </table></div>
              </div>
            </section>
          </main>
          <footer>DTP · Energy &amp; HVAC twin stack · data refreshes every 3 s</footer>
          <script type="module">
            import { lineChart, stateTimeline, getJSON, poll, fmtNum, fmtTime, ms } from "/assets/charts.js";
            const $ = id => document.getElementById(id);

            async function refresh() {
              const mins = Number($("mins").value);
              const [status, energy, cost, events, temps] = await Promise.all([
                getJSON("/api/status"), getJSON(`/api/energy?mins=${mins}`), getJSON(`/api/cost?mins=${mins}`),
                getJSON(`/api/events?mins=${mins}`), getJSON(`/api/temperature?mins=${mins}`),
              ]);
              $("ident").textContent = `${status.site} · tick ${status.interval_sec}s`;
              const state = status.last ? status.last.hvac_state : null;
              $("state").innerHTML = state ? `<span class="badge ${state}">${state}</span>` : "–";
              $("kw").innerHTML = status.last ? `${fmtNum(status.last.kw, 2)}<small>kW</small>` : "–";
              const kwh = energy.reduce((sum, p) => sum + p.kwh, 0);
              $("kwh").innerHTML = `${fmtNum(kwh, 2)}<small>kWh</small>`;
              const total = cost.reduce((sum, p) => sum + p.cost, 0);
              $("cost").textContent = fmtNum(total, 3);
              $("temp").innerHTML = `${fmtNum(status.temperature, 1)}<small>°${status.signal_unit}</small>`;
              $("rate").textContent = status.energy_rate;
              $("signal").textContent = `${status.signal_name} · ${status.sensor_topic}`;
              $("mqtt").className = "pill " + (status.mqtt_connected ? "ok" : "bad");
              $("mqtt").textContent = status.mqtt_connected ? "MQTT connected" : "MQTT reconnecting";
              lineChart($("power"), [{ name: "kW", color: "#2563eb", fill: true,
                points: energy.map(p => [ms(p.ts), p.kw]) }], { minutes: mins, yMin: 0 });
              let energySum = 0;
              lineChart($("kwh-chart"), [{ name: "kWh", color: "#7a5af8", fill: true,
                points: energy.map(p => [ms(p.ts), energySum += p.kwh]) }], { minutes: mins, yMin: 0 });
              stateTimeline($("state-timeline"), energy.map(p => [ms(p.ts), p.hvac_state]), {
                minutes: mins, colors: { IDLE: "#98a2b3", COOLING: "#2563eb", HEATING: "#d92d20" } });
              let running = 0;
              lineChart($("cost-chart"), [{ name: "cost", color: "#12b76a", fill: true,
                points: cost.map(p => [ms(p.ts), running += p.cost]) }], { minutes: mins, yMin: 0 });
              lineChart($("temperature"), [{ name: "°C", color: "#f79009",
                points: temps.map(p => [ms(p.ts), p.value]) }], { minutes: mins });
              $("events").innerHTML = events.slice().reverse().slice(0, 200).map(e =>
                `<tr><td>${fmtTime(ms(e.ts))}</td><td>${e.site}</td><td><span class="badge ${e.state}">${e.state}</span></td></tr>`
              ).join("") || '<tr><td colspan="3" class="muted">no state changes in this window</td></tr>';
            }

            $("mins").addEventListener("change", refresh);
            poll(refresh, 3000, $("live"));
          </script>
        </body>
        </html>
        """#
}
