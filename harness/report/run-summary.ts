import { appendFile } from "node:fs/promises";
import { stallWarning } from "../recorder/loop-stalls.js";
import type { Reporter } from "./reporter.js";
import type { CheckResult, RunResult } from "./run-result.js";

/** Longest key figure shown in a summary row; the full value is in run.json. */
const MAX_FIGURE_CHARS = 72;
const MAX_NAME_CHARS = 60;

/** One row of the end-of-run summary. */
export interface SummaryRow {
  /** The named result: a check, `threshold: …`, `baseline: …`, `step: …`, or `harness` for a harness error. */
  name: string;
  verdict: "pass" | "FAIL" | "ERROR";
  /** The figure that decided it, as short text. */
  figure: string;
}

/** Replaces C0/C1 control characters (ESC would let SUT text drive the terminal) and lone surrogates with `\u{…}`. */
export function visibleText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|\p{Cs}/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).replace(/[\t\n\r]/g, " ");
}

function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/**
 * The key figure of a result: the measured value of a threshold, else the check's `actual` compacted: an object's
 * scalar fields as `name=value` in their order (nested objects left to run.json), anything else as JSON.
 */
export function keyFigure(check: Pick<CheckResult, "actual">): string {
  const actual = check.actual;
  let text: string;
  if (typeof actual === "string") text = actual;
  else if (actual !== null && typeof actual === "object" && !Array.isArray(actual)) {
    const scalars = Object.entries(actual).filter(([, value]) => value === null || typeof value !== "object");
    text = scalars.length > 0 ? scalars.map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(" ") : JSON.stringify(actual);
  } else text = JSON.stringify(actual) ?? "–";
  return shorten(visibleText(text), MAX_FIGURE_CHARS);
}

/** The rows of a run's summary: every named result in run order, then the harness error, if any. */
export function summaryRows(result: Pick<RunResult, "checks" | "error">): SummaryRow[] {
  const rows: SummaryRow[] = result.checks.map((check) => ({ name: shorten(visibleText(check.name), MAX_NAME_CHARS), verdict: check.pass ? "pass" : "FAIL", figure: keyFigure(check) }));
  if (result.error) rows.push({ name: "harness", verdict: "ERROR", figure: shorten(visibleText(`${result.error.code ?? "error"}: ${result.error.message}`), MAX_FIGURE_CHARS) });
  return rows;
}

type SummaryRun = Pick<RunResult, "run_id" | "scenario" | "status" | "exit_code" | "seed" | "profile" | "duration_ms" | "checks" | "error"> &
  Partial<Pick<RunResult, "events" | "config">>;

/** The warning under a run that did not pass, when the harness itself stalled long enough to explain a failure. */
function warningOf(result: SummaryRun): string | undefined {
  if (result.status === "passed" || !result.events) return undefined;
  const profile = result.config?.resolved_profile as { heartbeatIntervalMs?: unknown } | undefined;
  const heartbeatMs = typeof profile?.heartbeatIntervalMs === "number" ? profile.heartbeatIntervalMs : undefined;
  return stallWarning(result.events, heartbeatMs);
}

function headline(result: SummaryRun): string {
  return `${result.scenario}: ${result.status} (exit ${result.exit_code}), seed ${result.seed}, profile ${result.profile}, ${(result.duration_ms / 1_000).toFixed(1)} s`;
}

/** The summary as a plain-text table for a terminal; SUT text cannot move the cursor or change colours. */
export function renderSummaryText(result: SummaryRun): string {
  const rows = summaryRows(result);
  const width = Math.max(6, ...rows.map((row) => [...row.name].length));
  const line = (name: string, verdict: string, figure: string) => `  ${name}${" ".repeat(Math.max(0, width - [...name].length))}  ${verdict.padEnd(5)}  ${figure}`;
  const warning = warningOf(result);
  const lines = [visibleText(headline(result)), line("result", "", "figure"), ...rows.map((row) => line(row.name, row.verdict, row.figure))];
  if (warning) lines.push(`warning: ${warning}`);
  return lines.join("\n") + "\n";
}

/**
 * Escapes text for one cell of a GitHub-flavoured Markdown table: HTML is rendered there, so `<` and `&` become
 * entities, and `|`, backticks and emphasis or link characters are backslash-escaped.
 */
export function markdownCell(text: string): string {
  return visibleText(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_[\]|#~!]/g, (c) => `\\${c}`);
}

/** The summary as Markdown (a heading line and a table), as CI step summaries show it. */
export function renderSummaryMarkdown(result: SummaryRun): string {
  const icon = (verdict: SummaryRow["verdict"]) => (verdict === "pass" ? "✅ pass" : verdict === "FAIL" ? "❌ FAIL" : "⚠️ ERROR");
  const rows = summaryRows(result).map((row) => `| ${markdownCell(row.name)} | ${icon(row.verdict)} | ${markdownCell(row.figure)} |`);
  const warning = warningOf(result);
  return [
    `### ${markdownCell(headline(result))}`,
    "",
    `run \`${result.run_id.replace(/[^A-Za-z0-9._-]/g, "")}\``,
    "",
    "| result | verdict | figure |",
    "|---|---|---|",
    ...rows,
    "",
    ...(warning ? [`⚠️ ${markdownCell(warning)}`, ""] : []),
    "",
  ].join("\n");
}

/** Appends the Markdown summary of each run to a file (`--summary PATH`, or `GITHUB_STEP_SUMMARY`). */
export class MarkdownSummaryReporter implements Reporter {
  readonly name = "summary";
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  async onRunEnd(result: RunResult): Promise<void> {
    await appendFile(this.#path, renderSummaryMarkdown(result));
  }
}
