/** The comparison with `--baseline`, as `compareWithBaseline` (baseline-comparison.ts) records it. */
import { field } from "./header-section.js";
import type { PageRun } from "./run-model.js";
import { compactJson, esc, fmtNumber, list, num, obj, text, toJson } from "./values.js";

const KNOWN = ["path", "run_id", "seed", "duration_ratio", "regressions", "fixed", "added", "removed", "latency_ratios", "side_by_side"];

const verdict = (v: unknown): string => (v === true ? `<span class="pill pass">pass</span>` : v === false ? `<span class="pill fail">FAIL</span>` : "–");

/** A figure as the table shows it: ms to two decimals, a rate to five. */
function figure(v: unknown, unit: string): string {
  const n = num(v);
  if (n === null) return "–";
  return unit === "ms" ? `${fmtNumber(n)} ms` : fmtNumber(n, 5);
}

/**
 * Both runs side by side (`side_by_side` of the comparison): every check and threshold with its verdict in each
 * run, then the gated figures (latency percentiles and the error rate) with the ratio, the tolerance it is judged
 * by and whether it is within it. "" when the comparison has none (a baseline compared by an older harness).
 */
export function renderSideBySide(b: Record<string, unknown>): string {
  const side = obj(b.side_by_side);
  const checks = list(side.checks).map(obj);
  const figures = list(side.figures).map(obj);
  if (checks.length === 0 && figures.length === 0) return "";
  const tol = obj(side.tolerance);
  let html = `<h3>This run and the baseline side by side</h3>`;
  html += `<p class="note" id="baseline-tolerance">Tolerance: a latency percentile may be ${esc(fmtNumber(tol.latencyRatio))}× the baseline's (or up to ${esc(fmtNumber(tol.latencyDeltaMs))} ms above it), the error rate ${esc(fmtNumber(tol.rateRatio))}× (or up to ${esc(fmtNumber(tol.rateDelta, 5))} above it).</p>`;
  if (checks.length) {
    html += `<table class="side-by-side" id="baseline-checks"><thead><tr><th>check or threshold</th><th>baseline</th><th>this run</th></tr></thead><tbody>`;
    html += checks
      .map((c) => `<tr${c.baseline === true && c.now === false ? ` class="regression"` : ""}><th>${esc(text(c.name, "?"))}</th><td>${verdict(c.baseline)}</td><td>${verdict(c.now)}</td></tr>`)
      .join("");
    html += "</tbody></table>";
  }
  if (figures.length) {
    html += `<table class="side-by-side" id="baseline-figures"><thead><tr><th>figure</th><th>baseline</th><th>this run</th><th>ratio</th><th>tolerance</th><th>within</th></tr></thead><tbody>`;
    html += figures
      .map((f) => {
        const unit = text(f.unit);
        const slack = unit === "ms" ? `${fmtNumber(f.slack)} ms` : fmtNumber(f.slack, 5);
        const within = f.gated === true ? verdict(f.pass) : f.pass === null ? "–" : `<span class="note">not gated</span>`;
        return `<tr><th>${esc(text(f.name, "?"))}</th><td>${esc(figure(f.baseline, unit))}</td><td>${esc(figure(f.now, unit))}</td><td class="${ratioClass(f.ratio)}">${num(f.ratio) === null ? "–" : `${esc(fmtNumber(f.ratio))}×`}</td><td>≤ ${esc(fmtNumber(f.max_ratio))}× or +${esc(slack)}</td><td>${within}</td></tr>`;
      })
      .join("");
    html += "</tbody></table>";
  }
  return html;
}

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
  html += renderSideBySide(b);
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
