extension TwinStackAssets {
    /// The stylesheet both twin UIs share (served at `/assets/twin.css`).
    public static let stylesheet = #"""
        :root {
          --bg: #f4f6f9; --card: #ffffff; --ink: #1c2430; --muted: #667085; --line: #e4e7ec;
          --accent: #2563eb; --accent-soft: #dbe7ff; --ok: #12b76a; --warn: #f79009; --bad: #d92d20;
          --radius: 10px; --shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.10);
          font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          color: var(--ink); background: var(--bg);
        }
        * { box-sizing: border-box; }
        body { margin: 0; font-size: 14px; line-height: 1.45; }
        header.bar {
          display: flex; align-items: center; gap: 16px; padding: 14px 28px;
          background: #0f172a; color: #f8fafc;
        }
        header.bar h1 { font-size: 17px; font-weight: 600; margin: 0; letter-spacing: .2px; }
        header.bar .sub { color: #94a3b8; font-size: 13px; }
        header.bar .spacer { flex: 1; }
        .pill {
          display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px;
          font-size: 12px; font-weight: 600; background: #1e293b; color: #cbd5e1;
        }
        .pill::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #94a3b8; }
        .pill.ok::before { background: var(--ok); }
        .pill.bad::before { background: var(--bad); }
        main { max-width: 1240px; margin: 0 auto; padding: 22px 28px 40px; }
        .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px; }
        .tile, .card {
          background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow);
        }
        .tile { padding: 14px 16px; }
        .tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
        .tile .value { font-size: 26px; font-weight: 650; margin-top: 4px; font-variant-numeric: tabular-nums; }
        .tile .value small { font-size: 13px; color: var(--muted); font-weight: 500; margin-left: 4px; }
        .tile .value.bad { color: var(--bad); }
        .grid { display: grid; grid-template-columns: 2fr 1fr; gap: 14px; margin-top: 14px; }
        .grid.even { grid-template-columns: 1fr 1fr; }
        @media (max-width: 900px) { .grid, .grid.even { grid-template-columns: 1fr; } }
        .card { padding: 14px 16px 12px; min-width: 0; }
        .card h2 {
          font-size: 13px; font-weight: 600; margin: 0 0 8px; display: flex; align-items: center; gap: 8px;
        }
        .card h2 .hint { color: var(--muted); font-weight: 400; margin-left: auto; font-size: 12px; }
        .chart { width: 100%; height: 240px; display: block; }
        .chart text { font-size: 11px; fill: var(--muted); font-variant-numeric: tabular-nums; }
        .chart .grid-line { stroke: var(--line); stroke-width: 1; }
        .chart .threshold { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 5 4; }
        .chart .empty { font-size: 13px; fill: var(--muted); }
        .chart.timeline { height: 110px; }
        .legend i.IDLE { background: #98a2b3; } .legend i.COOLING { background: #2563eb; } .legend i.HEATING { background: #d92d20; }
        .legend { display: flex; gap: 14px; color: var(--muted); font-size: 12px; margin-top: 4px; }
        .legend i { display: inline-block; width: 10px; height: 3px; margin-right: 5px; vertical-align: middle; }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 6px 4px; border-bottom: 1px solid var(--line); font-size: 13px; }
        th { color: var(--muted); font-weight: 500; font-size: 12px; }
        .scroll { max-height: 268px; overflow-y: auto; }
        .muted { color: var(--muted); }
        .controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
        input[type=number], select {
          width: 96px; padding: 7px 9px; border: 1px solid var(--line); border-radius: 8px; font-size: 14px;
        }
        button {
          padding: 7px 14px; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent);
          color: #fff; font-weight: 600; font-size: 13px; cursor: pointer;
        }
        button.secondary { background: #fff; color: var(--accent); }
        button.danger { background: var(--bad); border-color: var(--bad); }
        button:disabled { opacity: .5; cursor: default; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
        .badge.IDLE { background: #eef2f6; color: #475467; }
        .badge.COOLING { background: #dbeafe; color: #1d4ed8; }
        .badge.HEATING { background: #fee4e2; color: #b42318; }
        .badge.alert { background: #fee4e2; color: #b42318; }
        .note { color: var(--muted); font-size: 12px; margin-top: 6px; min-height: 16px; }
        footer { color: var(--muted); font-size: 12px; text-align: center; padding: 12px; }
        """#
}
