/**
 * `npm run bench -- all --compare <earlier summary.json, or the directory holding it>`: each figure beside the same
 * figure of an earlier summary, and whether it moved beyond the runs' spread.
 *
 * A figure moved only when its runs separate from the earlier ones (every run now above every run then, or below)
 * and that is unlikely by chance: were nothing changed, n runs now and m then would separate so in one of the two
 * directions with probability 2 / C(n + m, n) ({@link separationChance}: 33% with 2 runs a side, 10% with 3, 2.9% with
 * 4, 0.8% with 5). Only at {@link MAX_CHANCE} or less is it called better or worse (higher or lower without a
 * floor); a separation more likely than that is reported as too few runs to tell. With one run on either side there is
 * no spread to judge by, and the change is shown without a judgement. Which way is better follows the floor: up for
 * an at-least floor, down for an at-most one.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { usage } from "../harness/cli/flag-values.js";
import { finiteOrNull, round3, runsText, type FigureResult } from "./summary.js";

/** A figure of the earlier summary. */
export interface EarlierFigure {
  value: number | null;
  runs: (number | null)[];
}

export interface EarlierSummary {
  path: string;
  started: string;
  /** By `<benchmark>/<figure>`. */
  figures: Map<string, EarlierFigure>;
}

export type Judgement = "better" | "worse" | "higher" | "lower" | "within the spread" | "too few runs to tell" | "no spread" | "not comparable";

/** The most chance of separating with nothing changed at which a separation is called a move (see above). */
export const MAX_CHANCE = 0.05;

/** Chance that n and m runs of one unchanged figure separate completely, in either direction: 2 / C(n + m, n). */
export function separationChance(n: number, m: number): number {
  let ways = 1;
  for (let i = 1; i <= n; i++) ways = (ways * (m + i)) / i;
  return Math.min(1, 2 / ways);
}

export interface Comparison {
  before: number | null;
  before_runs: (number | null)[];
  /** (now - before) / before, in percent, rounded to one decimal; null when either is missing or before is 0. */
  change_pct: number | null;
  judgement: Judgement;
  /** Where the runs separate: the chance they would with nothing changed, in percent. */
  chance_pct?: number;
}

/** Reads an earlier summary.json (the file, or the directory `npm run bench -- all` wrote it in). */
export async function readEarlierSummary(path: string): Promise<EarlierSummary> {
  let file = path;
  let text: string;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, "summary.json");
    text = await readFile(file, "utf8");
  } catch (error) {
    throw usage(`--compare: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw usage(`--compare: ${file} is not JSON`);
  }
  const benchmarks = (parsed as { benchmarks?: unknown } | null)?.benchmarks;
  if (!Array.isArray(benchmarks)) throw usage(`--compare: ${file} is not a summary of npm run bench -- all (no "benchmarks" list)`);
  const figures = new Map<string, EarlierFigure>();
  for (const benchmark of benchmarks as { name?: unknown; figures?: unknown }[]) {
    if (typeof benchmark?.name !== "string" || !Array.isArray(benchmark.figures)) continue;
    for (const figure of benchmark.figures as { name?: unknown; value?: unknown; runs?: unknown }[]) {
      if (typeof figure?.name !== "string") continue;
      const value = finiteOrNull(figure.value);
      // Summaries written before --repeat have no runs: their one value is their one run.
      const runs = Array.isArray(figure.runs) ? figure.runs.map(finiteOrNull) : [value];
      figures.set(`${benchmark.name}/${figure.name}`, { value, runs });
    }
  }
  return { path: file, started: String((parsed as { started?: unknown }).started ?? "?"), figures };
}

function range(runs: readonly (number | null)[]): [number, number] | null {
  const numbers = runs.filter((value): value is number => value !== null);
  return numbers.length < 2 || numbers.length < runs.length ? null : [Math.min(...numbers), Math.max(...numbers)];
}

/** A figure of this run against the same figure of the earlier summary. */
export function compareFigure(now: FigureResult, before: EarlierFigure | undefined): Comparison {
  const beforeValue = before?.value ?? null;
  const beforeRuns = before?.runs ?? [];
  const base = { before: beforeValue, before_runs: beforeRuns };
  if (now.value === null || beforeValue === null) return { ...base, change_pct: null, judgement: "not comparable" };
  const change_pct = beforeValue === 0 ? null : Math.round(((now.value - beforeValue) / Math.abs(beforeValue)) * 1_000) / 10;
  const nowRange = range(now.runs);
  const beforeRange = range(beforeRuns);
  if (nowRange === null || beforeRange === null) return { ...base, change_pct, judgement: "no spread" };
  if (nowRange[0] <= beforeRange[1] && beforeRange[0] <= nowRange[1]) return { ...base, change_pct, judgement: "within the spread" };
  const chance = separationChance(now.runs.length, beforeRuns.length);
  const higher = nowRange[0] > beforeRange[1];
  let judgement: Judgement;
  if (chance > MAX_CHANCE) judgement = "too few runs to tell";
  else if (now.min !== undefined) judgement = higher ? "better" : "worse";
  else if (now.max !== undefined) judgement = higher ? "worse" : "better";
  else judgement = higher ? "higher" : "lower";
  return { ...base, change_pct, judgement, chance_pct: Math.round(chance * 1_000) / 10 };
}

/** The before and change cells of a figure's summary.md row. */
export function comparisonCells(comparison: Comparison): [string, string] {
  const runs = comparison.before_runs.length > 1 ? ` (runs ${runsText(comparison.before_runs)})` : "";
  const before = comparison.before === null ? "-" : `${round3(comparison.before)}${runs}`;
  const judged = comparison.chance_pct === undefined ? comparison.judgement : `${comparison.judgement}; ${comparison.chance_pct}% by chance`;
  const change = comparison.change_pct === null ? judged : `${comparison.change_pct > 0 ? "+" : ""}${comparison.change_pct}% (${judged})`;
  return [before, change];
}
