/** The checks: one row per check, failed ones first, with expected, actual and the evidence. */
import type { CheckResult } from "../run-result.js";
import { runChecks, type PageRun } from "./run-model.js";
import { compactJson, esc, fmtDuration, isObject, num, text, toJson } from "./values.js";

/** Checks with the failed ones first, otherwise in recorded order. */
export function sortChecks(checks: readonly CheckResult[]): CheckResult[] {
  return checks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (a.c.pass === true ? 1 : 0) - (b.c.pass === true ? 1 : 0) || a.i - b.i)
    .map((x) => x.c);
}

/** An expected or actual value: a key/value table for objects, code or a block for the rest. */
export function renderValue(value: unknown): string {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return `<span class="muted">{}</span>`;
    return `<table class="kv">${keys
      .map((k) => {
        const v = value[k];
        const s = v !== null && typeof v === "object" ? compactJson(v) : String(v);
        return `<tr><th>${esc(k)}</th><td>${s.length <= 120 ? `<code>${esc(s)}</code>` : `<pre>${esc(toJson(v, 4_000))}</pre>`}</td></tr>`;
      })
      .join("")}</table>`;
  }
  if (value === undefined) return `<span class="muted">–</span>`;
  const s = typeof value === "string" ? value : compactJson(value);
  return s.length <= 120 ? `<code>${esc(s)}</code>` : `<pre>${esc(toJson(value))}</pre>`;
}

/** The checks section's HTML. */
export function renderChecks(run: PageRun): string {
  const checks = sortChecks(runChecks(run));
  let html = "<h2>Checks</h2>";
  if (checks.length === 0) return `${html}<p class="empty" id="no-checks">No checks were recorded${run.error ? " (the run ended with a harness error before the checks)." : "."}</p>`;
  html += `<table class="checks"><thead><tr><th>result</th><th>check</th><th>expected</th><th>actual</th></tr></thead><tbody>`;
  for (const c of checks) {
    const pass = c.pass === true;
    const cls = pass ? "pass" : "fail";
    html +=
      `<tr class="check ${cls}" data-check="${esc(text(c.name, "?"))}" data-pass="${pass}"><td class="result"><span class="pill ${cls}">${pass ? "✔ pass" : "✘ FAIL"}</span></td>` +
      `<td class="name"><b>${esc(text(c.name, "(unnamed)"))}</b>${num(c.duration_ms) !== null ? `<div class="muted">${esc(fmtDuration(c.duration_ms))}</div>` : ""}</td>` +
      `<td>${renderValue(c.expected)}</td><td>${renderValue(c.actual)}</td></tr>`;
    html += `<tr class="evidence-row ${cls}"><td></td><td colspan="3"><details class="evidence"${pass ? "" : " open"}><summary>evidence</summary><pre>${esc(toJson(c.evidence))}</pre></details></td></tr>`;
  }
  return `${html}</tbody></table>`;
}
