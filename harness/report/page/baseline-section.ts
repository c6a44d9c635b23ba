/** The comparison with `--baseline`, as `compareWithBaseline` (baseline-comparison.ts) records it. */
import { field } from "./header-section.js";
import type { PageRun } from "./run-model.js";
import { compactJson, esc, fmtNumber, list, num, obj, text, toJson } from "./values.js";

const KNOWN = ["path", "run_id", "seed", "duration_ratio", "regressions", "fixed", "added", "removed", "latency_ratios"];

/** A latency ratio's class: ≥ 1.5× worse, ≤ 0.67× better. */
export function ratioClass(v: unknown): string {
  const n = num(v);
  return n === null ? "" : n >= 1.5 ? "worse" : n <= 0.67 ? "better" : "";
}

/** The baseline section's HTML ("" without a baseline). */
export function renderBaseline(run: PageRun): string {
  if (run.baseline === undefined || run.baseline === null) return "";
  const b = obj(run.baseline);
  const name = (n: unknown): string => esc(text(n, compactJson(n)));
  let html = "<h2>Baseline comparison</h2>";
  if (b.error !== undefined) return `${html}<p class="run-error">The baseline ${esc(text(b.path))} could not be read: ${esc(text(b.error, compactJson(b.error)))}</p>`;
  const ratio = num(b.duration_ratio);
  html += `<dl class="fields">${field("baseline run", text(b.run_id, "–"))}${field("baseline seed", text(b.seed, "–"))}${field("file", text(b.path, "–"))}`;
  html += `${field("duration ratio", ratio === null ? "–" : `${fmtNumber(ratio)}× the baseline's`)}</dl>`;
  const regressions = list(b.regressions);
  html += `<ul class="baseline-changes">`;
  html += regressions.length
    ? regressions.map((n) => `<li class="regression"><span class="pill fail">regressed</span> ${name(n)} passed in the baseline and fails now</li>`).join("")
    : "<li>No check regressed.</li>";
  html += list(b.fixed).map((n) => `<li class="fixed"><span class="pill pass">fixed</span> ${name(n)} failed in the baseline and passes now</li>`).join("");
  html += list(b.added).map((n) => `<li>new check: ${name(n)}</li>`).join("");
  html += list(b.removed).map((n) => `<li>check no longer run: ${name(n)}</li>`).join("");
  html += "</ul>";
  const lat = obj(b.latency_ratios);
  const kinds = Object.keys(lat);
  if (kinds.length) {
    html += `<table class="ratios"><thead><tr><th>latency (this run ÷ baseline)</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead><tbody>`;
    html += kinds
      .map((k) => {
        const r = obj(lat[k]);
        const cells = ["p50", "p90", "p99", "max"].map((p) => `<td class="${ratioClass(r[p])}">${num(r[p]) === null ? "–" : `${esc(fmtNumber(r[p]))}×`}</td>`);
        return `<tr><th>${esc(k)}</th>${cells.join("")}</tr>`;
      })
      .join("");
    html += "</tbody></table>";
  }
  const rest = Object.fromEntries(Object.entries(b).filter(([k]) => !KNOWN.includes(k)));
  if (Object.keys(rest).length) html += `<details><summary>more of the comparison</summary><pre>${esc(toJson(rest))}</pre></details>`;
  return html;
}
