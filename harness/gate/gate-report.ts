/**
 * The gate's report files, all rendered from {@link GateResult} alone: `gate.json` (written first), `gate.md`
 * (the matrix as a Markdown table, with the unbroken runs and the verdict) and `junit.xml` (one testsuite for the
 * unbroken runs, one for the matrix: a defect that escaped every scenario is a failed testcase), plus the plain
 * text table the CLI prints.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { xmlAttribute as attr, xmlText as text } from "../report/xml-text.js";
import type { GateCell, GateResult } from "./gate-result.js";

/** What a cell shows: the failed checks when caught, else its outcome. */
function cellText(cell: GateCell): string {
  switch (cell.outcome) {
    case "caught":
      return cell.run!.failed_checks.join(", ");
    case "escaped":
      return "escaped";
    case "error":
      return `error${cell.run?.error?.code ? ` ${cell.run.error.code}` : ""}`;
    case "not-run":
      return "·";
  }
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}

/** The matrix as aligned plain text: a row per defect, a column per scenario, then the verdict. */
export function renderGateTable(result: GateResult): string {
  const header = ["defect", ...result.scenarios, "verdict"];
  const rows = result.matrix.map((row) => [row.defect, ...row.cells.map(cellText), row.caught_by ? "caught" : "ESCAPED"]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  const lines = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  if (result.reference.length > 0) {
    lines.unshift(`unbroken gateway: ${result.reference.map((run) => `${run.scenario} ${run.status}`).join(", ")}`, "");
  }
  lines.push("", verdictLine(result));
  return `${lines.join("\n")}\n`;
}

function verdictLine(result: GateResult): string {
  const { verdict } = result;
  const caught = result.matrix.length - verdict.escaped.length;
  const parts = [`gate ${verdict.pass ? "passed" : "FAILED"}: ${caught} of ${result.matrix.length} defects caught`];
  if (verdict.escaped.length > 0) parts.push(`escaped: ${verdict.escaped.join(", ")}`);
  if (verdict.reference_failures.length > 0) parts.push(`unbroken gateway failed: ${verdict.reference_failures.join(", ")}`);
  if (verdict.aborted) parts.push("aborted");
  return `${parts.join("; ")} (seed ${result.seed}, ${seconds(result.duration_ms)})`;
}

function md(value: string): string {
  return value.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

/** `gate.md`: verdict, unbroken runs, then the matrix (each caught cell links to its run's report). */
export function renderGateMarkdown(result: GateResult, dir: string): string {
  const link = (label: string, reportDir: string) => `[${md(label)}](${relative(dir, join(reportDir, "index.html")).split("\\").join("/")})`;
  const out = [`# Gate ${md(result.gate_id)}`, "", `**${md(verdictLine(result))}**`, ""];
  if (result.reference.length > 0) {
    out.push("## Unbroken reference gateway", "", "| scenario | status | failed checks | duration | load average |", "|---|---|---|---|---|");
    for (const run of result.reference) {
      const load = run.load_average ? `${run.load_average.start.toFixed(1)} → ${run.load_average.end.toFixed(1)}` : "–";
      out.push(`| ${link(run.scenario, run.report_dir)} | ${run.status} | ${md(run.failed_checks.join(", ") || "–")} | ${seconds(run.duration_ms)} | ${load} |`);
    }
    out.push("");
  }
  out.push(
    "## Sensitivity matrix",
    "",
    `Each cell: the checks that failed when the scenario ran against the defect, \`escaped\` when it passed, \`·\` when not run${result.full ? "" : " (the gate stops at the first scenario that catches a defect; `--full` runs them all)"}.`,
    "",
    `| defect | ${result.scenarios.map(md).join(" | ")} | verdict |`,
    `|---|${result.scenarios.map(() => "---").join("|")}|---|`,
  );
  for (const row of result.matrix) {
    const cells = row.cells.map((cell) => (cell.run ? link(cellText(cell), cell.run.report_dir) : cellText(cell)));
    out.push(`| \`${md(row.defect)}\` | ${cells.join(" | ")} | ${row.caught_by ? "caught" : "**escaped**"} |`);
  }
  out.push("", "## Defects", "", "| defect | behaviour | must fail |", "|---|---|---|");
  for (const row of result.matrix) out.push(`| \`${md(row.defect)}\` | ${md(row.behaviour)} | ${md(row.must_fail)} |`);
  return `${out.join("\n")}\n`;
}

/** `junit.xml`: testsuite `gate.reference` (a testcase per scenario) and `gate.sensitivity` (a testcase per defect). */
export function renderGateJunit(result: GateResult): string {
  const reference = result.reference.map((run) => {
    const open = `    <testcase classname="gate.reference" name="${attr(run.scenario)}" time="${(run.duration_ms / 1_000).toFixed(3)}">`;
    if (run.status === "passed") return `${open}</testcase>`;
    const message = run.error ? `${run.status}: ${run.error.message}` : `${run.status}: ${run.failed_checks.join(", ")}`;
    const tag = run.status === "failed" ? "failure" : "error";
    return `${open}<${tag} message="${attr(message.slice(0, 500))}" type="${attr(run.status)}">${text(`report: ${run.report_dir}`)}</${tag}></testcase>`;
  });
  const matrix = result.matrix.map((row) => {
    const time = row.cells.reduce((ms, cell) => ms + (cell.run?.duration_ms ?? 0), 0) / 1_000;
    const open = `    <testcase classname="gate.sensitivity" name="${attr(row.defect)}" time="${time.toFixed(3)}">`;
    if (row.caught_by) return `${open}<system-out>${text(`caught by ${row.caught_by.scenario}: ${row.caught_by.checks.join(", ")}`)}</system-out></testcase>`;
    const tried = row.cells.filter((cell) => cell.run).map((cell) => `${cell.scenario}: ${cellText(cell)}`);
    return `${open}<failure message="${attr(`${row.defect} escaped every scenario run (${tried.length})`)}" type="escaped">${text(`${row.behaviour}\n${tried.join("\n")}`)}</failure></testcase>`;
  });
  const suite = (name: string, cases: string[], failures: number, errors: number) =>
    `  <testsuite name="${name}" tests="${cases.length}" failures="${failures}" errors="${errors}" timestamp="${attr(result.started_at)}">\n${cases.join("\n")}\n  </testsuite>`;
  const refFailures = result.reference.filter((run) => run.status === "failed").length;
  const refErrors = result.reference.filter((run) => run.status !== "failed" && run.status !== "passed").length;
  const escaped = result.verdict.escaped.length;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="traffic-cop-gate" tests="${reference.length + matrix.length}" failures="${refFailures + escaped}" errors="${refErrors}" time="${(result.duration_ms / 1_000).toFixed(3)}">
${[suite("gate.reference", reference, refFailures, refErrors), suite("gate.sensitivity", matrix, escaped, 0)].join("\n")}
</testsuites>
`;
}

/** Writes gate.json, then gate.md and junit.xml from it, into `dir`; resolves with the paths written. */
export async function writeGateReport(result: GateResult, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [join(dir, "gate.json"), join(dir, "gate.md"), join(dir, "junit.xml")];
  await writeFile(files[0]!, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(files[1]!, renderGateMarkdown(result, dir));
  await writeFile(files[2]!, renderGateJunit(result));
  return files;
}
