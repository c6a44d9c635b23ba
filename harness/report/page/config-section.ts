/** Configuration and topology (collapsed): instances, resolved config, the seeded plan, fleet summary, last metrics. */
import { runSamples, type PageRun } from "./run-model.js";
import { compactJson, esc, fmtNumber, isObject, list, obj, text, toJson } from "./values.js";

/** The configuration section's HTML. */
export function renderConfig(run: PageRun): string {
  const topology = obj(run.topology);
  const instances = list(topology.instances).filter(isObject);
  const redis = text(obj(topology.redis).url);
  let html = "<h2>Configuration and topology</h2>";
  html += `<details class="config"><summary>topology: ${instances.length} instance(s)${redis ? `, Redis ${esc(redis)}` : ""}</summary>`;
  if (instances.length) {
    const logs = obj(topology.instance_logs);
    // A link only to a file the run wrote beside the page (instances/<id>.log).
    const logLink = (id: string) => {
      const path = logs[id];
      return typeof path === "string" && /^instances\/[A-Za-z0-9._-]+\.log$/.test(path) ? `<a href="${esc(path)}">${esc(path.slice("instances/".length))}</a>` : "–";
    };
    html += `<table><thead><tr><th>instance</th><th>port</th><th>http</th><th>proxies</th><th>log</th></tr></thead><tbody>`;
    html += instances
      .map((i) => `<tr><td>${esc(text(i.id, "?"))}</td><td>${esc(text(i.port, "–"))}</td><td>${esc(text(i.http, "–"))}</td><td>${esc(list(i.proxies).join(", "))}</td><td>${logLink(text(i.id, "?"))}</td></tr>`)
      .join("");
    html += "</tbody></table>";
  }
  html += `<pre>${esc(toJson(topology))}</pre></details>`;
  html += `<details class="config"><summary>configuration (resolved flags and profile)</summary><pre>${esc(toJson(run.config ?? {}))}</pre></details>`;
  const plan = list(run.plan);
  html += `<details class="config"><summary>plan: ${plan.length} seeded step(s)</summary><ol class="plan">${plan.map((p) => `<li><code>${esc(compactJson(p))}</code></li>`).join("")}</ol></details>`;
  if (run.fleet_summary !== undefined) html += `<details class="config"><summary>fleet summary</summary><pre>${esc(toJson(run.fleet_summary))}</pre></details>`;
  return html + renderLastMetrics(run);
}

function renderLastMetrics(run: PageRun): string {
  const last = obj(runSamples(run).at(-1)?.gateways);
  const ids = Object.keys(last);
  if (ids.length === 0) return "";
  const metrics = (id: string): Record<string, unknown> => obj(obj(last[id]).metrics);
  const names = [...new Set(ids.flatMap((id) => Object.keys(metrics(id))))].sort();
  const rows = names.map((n) => `<tr><th><code>${esc(n)}</code></th>${ids.map((id) => `<td>${esc(fmtNumber(metrics(id)[n], 4))}</td>`).join("")}</tr>`);
  const head = ids.map((id) => `<th>${esc(id)}${obj(last[id]).up === false ? " (down)" : ""}</th>`).join("");
  return `<details class="config"><summary>gateway metrics at the last sample</summary><table class="metrics"><thead><tr><th>series</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></details>`;
}
