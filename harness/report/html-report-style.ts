/** The inline stylesheet of `index.html`, after uPlot's (system fonts only: the page loads nothing). @internal */
export const REPORT_STYLE = `
:root{--pass:#1e7b34;--pass-bg:#e3f4e6;--fail:#b3261e;--fail-bg:#fbe4e2;--err:#8a4b00;--err-bg:#fdf0d8;--line:#d9dde3;--muted:#5f6b7a;--bg:#f5f6f8}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;background:var(--bg);color:#1d232b}
#app{max-width:1320px;margin:0 auto;padding:20px 24px 60px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 16px}
h1{font-size:24px;margin:0}
h2{font-size:18px;margin:0 0 10px}
code,pre{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre{margin:4px 0;white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto;background:#f7f8fa;border:1px solid #eceef2;border-radius:4px;padding:6px 8px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #eceef2;padding:5px 8px;text-align:left;vertical-align:top}
thead th{font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.muted,.note,.unit{color:var(--muted)}
.note{font-size:12px;margin:4px 0}
.empty{color:var(--muted);font-style:italic}
.verdict{border-left:10px solid #888;margin:-14px -18px;padding:14px 18px;border-radius:8px}
.verdict.passed{border-color:var(--pass)}.verdict.failed{border-color:var(--fail)}.verdict.error,.verdict.aborted{border-color:var(--err)}
.verdict-line{display:flex;align-items:center;gap:14px;flex-wrap:wrap}
.badge{font-weight:800;font-size:18px;letter-spacing:.05em;padding:4px 12px;border-radius:6px;background:#888;color:#fff}
.passed .badge{background:var(--pass)}.failed .badge{background:var(--fail)}.error .badge,.aborted .badge{background:var(--err)}
.exit{color:var(--muted);font-weight:600}
.description{margin:6px 0 2px;color:#333}
.checks-summary{margin:2px 0 8px;font-weight:600}
.failed .checks-summary{color:var(--fail)}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:4px 18px;margin:8px 0}
.field dt{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.field dd{margin:0;font-weight:500;word-break:break-word}
.figures{border-top:1px dashed var(--line);padding-top:8px}
.repro{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:6px 0}
.repro span{font-weight:600}
.repro button{font:inherit;font-size:12px;padding:3px 10px;border:1px solid var(--line);border-radius:4px;background:#fff;cursor:pointer}
.repro code{background:#1d232b;color:#e9f1fa;padding:6px 10px;border-radius:5px;user-select:all;font-size:13px}
.run-error{background:var(--err-bg);border:1px solid #e8c48a;border-radius:6px;padding:8px 12px;color:#5a3200}
.run-error pre{background:#fff8ec}
.pill{display:inline-block;font-weight:700;font-size:12px;padding:2px 8px;border-radius:10px;white-space:nowrap}
.pill.pass{background:var(--pass-bg);color:var(--pass)}.pill.fail{background:var(--fail-bg);color:var(--fail)}
table.checks{table-layout:fixed}
table.checks th:nth-child(1){width:80px}table.checks th:nth-child(2){width:180px}
table.checks code{word-break:break-word}
table.checks td{overflow-wrap:anywhere}
tr.check.fail{background:#fff7f6}
tr.check.fail td{border-bottom:none}
tr.evidence-row.fail{background:#fff7f6}
tr.check.pass td{border-bottom:none}
table.kv{width:auto;max-width:100%}
table.kv th{font-weight:500;color:var(--muted);padding:1px 10px 1px 0;border:none;white-space:nowrap}
table.kv td{padding:1px 0;border:none}
details summary{cursor:pointer;color:#1f4f8b;font-weight:600;margin:2px 0}
details.config{margin:6px 0}
.chart{margin:6px 0 14px}
.chart figcaption{margin-bottom:2px}
.chart figcaption .note{margin-left:10px}
svg.plot{width:100%;height:auto;display:block}
svg .grid{stroke:#eceef2;stroke-width:1}
svg .axis{stroke:#9aa3ae;stroke-width:1}
svg .lane{stroke:#e3e6ea}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#3b4552}
svg .tick{fill:#5f6b7a}
svg .axis-title{fill:#5f6b7a;font-size:11px}
svg .lane-label{font-weight:600}
svg .band-label{font-size:11px;fill:#1d232b;pointer-events:none}
svg .phase-band.p0{fill:#dde7f3}svg .phase-band.p1{fill:#eef3f9}
svg .phase-band{stroke:#b7c6d9}
svg .fault-bar{stroke:#c77c11;stroke-width:1}
svg .fault-bar.bad{stroke:var(--fail);stroke-width:2}
svg .instance-down{fill:#9aa3ae;fill-opacity:.55}
svg .instance-draining{fill:#f0c36d;fill-opacity:.6}
svg .glyph-kill{stroke:var(--fail);stroke-width:3;fill:none}
svg .glyph-stop{fill:#8a4b00}
svg .glyph-exit{fill:#fff;stroke:#333;stroke-width:2}
svg .glyph-crash{fill:var(--fail)}
svg .glyph-start{fill:var(--pass)}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;margin:2px 0 0 64px;padding:0;font-size:12px}
.legend li{display:flex;align-items:center;gap:5px}
.swatch-fault,.swatch-gap,.swatch-down,.swatch-draining{display:inline-block;width:26px;height:12px;border:1px solid #c77c11;background:repeating-linear-gradient(45deg,#f6d7a7 0 3px,#e4b675 3px 5px)}
.swatch-gap{border-color:var(--fail);background:rgba(179,38,30,.22)}
.swatch-down{border-color:#9aa3ae;background:rgba(154,163,174,.55)}
.swatch-draining{border-color:#d9a43a;background:rgba(240,195,109,.6)}
.swatch-bad{color:var(--fail)}
.glyph{display:inline-flex}
table.faults td:first-child,table.events td:first-child{white-space:nowrap;font-variant-numeric:tabular-nums}
.event-filter{display:flex;gap:16px;flex-wrap:wrap;margin-bottom:6px}
.event-filter label{font-weight:600;display:flex;gap:6px;align-items:center}
.event-filter select,.event-filter input{font:inherit;padding:3px 6px}
.event-filter input{width:280px}
.event-count{color:var(--muted);margin:4px 0}
table.events{font-size:12px}
.events-scroll{max-height:640px;overflow:auto;border:1px solid #eceef2;border-radius:4px}
.events-scroll thead th{position:sticky;top:0;background:#fff}
table.events td{padding:3px 8px}
table.events code{word-break:break-all}
table.events tr.bad td{background:#fff3f2}
table.ratios{width:auto}
table.ratios td.worse{color:var(--fail);font-weight:700}table.ratios td.better{color:var(--pass);font-weight:700}
.baseline-changes{padding-left:18px}
ol.plan{margin:4px 0;padding-left:28px}
table.metrics{width:auto;font-size:12px}
table.metrics td{text-align:right;font-variant-numeric:tabular-nums}
.chart-canvas{width:100%;min-height:240px}
.uplot{font-family:system-ui,"DejaVu Sans",sans-serif}
.uplot .u-legend{font-size:12px;text-align:left;margin-left:56px}
.uplot .u-legend th{font-weight:500;color:#1d232b;text-transform:none;letter-spacing:0;border:none}
.uplot .u-legend td{border:none}
.uplot .u-select{background:rgba(31,99,181,.15)}
table.instances{width:auto}
table.instances td{text-align:right;font-variant-numeric:tabular-nums}
table.instances td.bad{color:var(--fail);font-weight:700}
table.side-by-side{width:auto;margin:8px 0}
table.side-by-side td{text-align:right;font-variant-numeric:tabular-nums}
table.side-by-side td.worse{color:var(--fail);font-weight:700}table.side-by-side td.better{color:var(--pass);font-weight:700}
table.side-by-side tr.regression th{color:var(--fail)}
#report-status{white-space:pre-wrap;color:var(--fail);font:12px ui-monospace,monospace;margin:0 24px}
`;
