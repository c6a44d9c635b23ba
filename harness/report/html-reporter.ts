import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Reporter } from "./reporter.js";
import type { RunResult } from "./run-result.js";

// The page renders itself from the embedded run.json: the same data as the file next to it, no network.
const SCRIPT = String.raw`
const run = JSON.parse(document.getElementById("run-data").textContent);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const t0 = Date.parse(run.started_at);
const rel = (t) => ((t - t0) / 1000).toFixed(1) + "s";
document.title = run.scenario + " " + run.status + " (" + run.run_id + ")";
let html = "<h1>" + esc(run.scenario) + ": <span class=" + run.status + ">" + esc(run.status) + "</span></h1>";
html += "<p>" + esc(run.description) + "</p>";
html += "<table><tr><th>run</th><td>" + esc(run.run_id) + "</td></tr><tr><th>seed</th><td>" + run.seed + "</td></tr><tr><th>profile</th><td>" + esc(run.profile) + "</td></tr><tr><th>duration</th><td>" + (run.duration_ms / 1000).toFixed(1) + "s</td></tr><tr><th>exit code</th><td>" + run.exit_code + "</td></tr></table>";
if (run.error) html += "<h2>Error</h2><pre>" + esc((run.error.code || "") + " " + run.error.message) + "</pre>";
html += "<h2>Checks</h2><table><tr><th>check</th><th>result</th><th>expected</th><th>actual</th><th>evidence</th></tr>";
for (const c of run.checks) html += "<tr><td>" + esc(c.name) + "</td><td class=" + (c.pass ? "passed" : "failed") + ">" + (c.pass ? "pass" : "FAIL") + "</td><td><pre>" + esc(JSON.stringify(c.expected, null, 1)) + "</pre></td><td><pre>" + esc(JSON.stringify(c.actual, null, 1)) + "</pre></td><td><pre>" + esc(JSON.stringify(c.evidence, null, 1)) + "</pre></td></tr>";
html += "</table><h2>Timeline</h2><table><tr><th>at</th><th>what</th></tr>";
for (const p of run.phases) html += "<tr><td>" + rel(p.start) + "</td><td>phase <b>" + esc(p.name) + "</b></td></tr>";
for (const e of run.events.filter((e) => e.source === "fault" || e.source === "process")) html += "<tr><td>" + rel(e.t) + "</td><td>" + esc(e.type + " " + (e.description || e.target || "") + " " + (e.state || "") + (e.ok === false ? " (failed)" : "")) + "</td></tr>";
html += "</table><h2>Samples</h2><table><tr><th>at</th><th>phase</th><th>connected</th><th>by instance</th><th>records</th><th>sent/s</th><th>redis ping ms</th><th>faults</th></tr>";
for (const s of run.samples) html += "<tr><td>" + (s.elapsed_ms / 1000).toFixed(0) + "s</td><td>" + esc(s.phase) + "</td><td>" + (s.fleet ? s.fleet.connected : "") + "</td><td>" + esc(s.fleet ? JSON.stringify(s.fleet.by_instance) : "") + "</td><td>" + ("records" in s.registry ? s.registry.records : esc(s.registry.error)) + "</td><td>" + s.rates.sent + "</td><td>" + (s.redis_ping_ms ?? "down") + "</td><td>" + esc(s.active_faults.join("; ")) + "</td></tr>";
html += "</table><h2>Configuration</h2><pre>" + esc(JSON.stringify({ config: run.config, topology: run.topology, plan: run.plan }, null, 2)) + "</pre>";
document.getElementById("app").innerHTML = html;
`;

const STYLE = "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}pre{margin:0;max-width:40em;overflow:auto;font-size:12px}.passed{color:#080}.failed,.error,.aborted{color:#c00;font-weight:bold}";

/** Renders the run's data into one self-contained page, from run.json alone. */
export function renderHtml(runJson: string): string {
  // `</` inside a script element would end it early: escape it in the embedded JSON.
  const data = runJson.replace(/<\//g, "<\\/");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>run report</title><style>${STYLE}</style></head>
<body><div id="app">Loading report…</div>
<script type="application/json" id="run-data">${data}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/** Writes `index.html`, rendered from the `run.json` already written in the same directory. */
export class HtmlReporter implements Reporter {
  readonly name = "html";
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async onRunEnd(_result: RunResult): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true });
    const json = await readFile(join(this.#dir, "run.json"), "utf8");
    const file = join(this.#dir, "index.html");
    await writeFile(file, renderHtml(json.trim()));
    return [file];
  }
}
