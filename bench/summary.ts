/**
 * The summary of `npm run bench -- all`: each named figure of the benchmarks' JSON last lines against its floor, over
 * one or more runs of each benchmark (`--repeat`). Pure functions of the runs' results, apart from bench/all.ts,
 * which runs the benchmarks.
 *
 * Why repeat: on these shared 2-core machines one benchmark run moves by more than the distance between a figure and
 * its floor (three `npm run bench -- toxiproxy` runs within two minutes: 1.10, 0.79 and 0.84 of direct TCP; two of
 * `gateway`: 0.70 and 0.87 of bare `ws`), so a verdict of one run says as much about the minute as about the code.
 * Over several runs a figure that is itself a typical value (a median of rounds) is judged on the median of the runs;
 * a figure that is a bound every run must keep (no round below 0.6, no connect error, peak memory) on the worst run.
 */
import { comparisonCells, type Comparison } from "./compare.js";

/** How a figure's runs are summed up: the median run, or the worst run for the figure's floor. */
export type Over = "median" | "worst";

/** A named figure of a benchmark's JSON last line and its floor (`min`: at least; `max`: at most; none: reported). */
export interface Figure {
  name: string;
  min?: number;
  max?: number;
  unit?: string;
  /** Over several runs (default `median`); `worst` only means something with a floor. */
  over?: Over;
}

/** A benchmark and its figures, in the order they run. */
export interface Benchmark {
  name: string;
  args?: string[];
  figures: Figure[];
}

export type Verdict = "pass" | "miss" | "reported" | "absent";

export interface FigureResult extends Figure {
  /** The figure over the runs (one run: that run's); null when no run gave it as a finite number. */
  value: number | null;
  /** Each run's value, in the order run (null: that run did not give it). */
  runs: (number | null)[];
  verdict: Verdict;
  /** Against an earlier summary (`--compare`, bench/compare.ts). */
  compared?: Comparison;
}

export type RunStatus = "ran" | "missing" | "failed" | "no-json";

/** One run of one benchmark. */
export interface BenchmarkRun {
  status: RunStatus;
  exit_code: number | null;
  seconds: number;
  /** The benchmark's whole JSON last line. */
  result?: Record<string, unknown>;
}

export interface BenchmarkResult {
  name: string;
  /** The worst status of its runs (a run that failed is not noise). */
  status: RunStatus;
  /** The last non-zero exit code of its runs, else 0 (null: it never ran). */
  exit_code: number | null;
  /** All its runs together. */
  seconds: number;
  figures: FigureResult[];
  /** The JSON last line of its last run that printed one. */
  result?: Record<string, unknown>;
  /** Every run (only with more than one). */
  runs?: BenchmarkRun[];
}

const STATUS_RANK: Record<RunStatus, number> = { ran: 0, "no-json": 1, failed: 2, missing: 3 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A figure over its runs. With a floor, a run that did not give it (crashed, no JSON, or not a finite number) makes
 * it a miss whatever the other runs say; without one, it is the median of the runs that gave it.
 */
export function judge(figure: Figure, runValues: readonly unknown[]): FigureResult {
  const runs = runValues.map(finiteOrNull);
  const numbers = runs.filter((value): value is number => value !== null);
  const typical = numbers.length > 0 ? median(numbers) : null;
  if (figure.min === undefined && figure.max === undefined) return { ...figure, value: typical, runs, verdict: typical === null ? "absent" : "reported" };
  if (typical === null || numbers.length < runs.length) return { ...figure, value: typical, runs, verdict: "miss" };
  const worst = figure.min !== undefined ? Math.min(...numbers) : Math.max(...numbers);
  const value = overOf(figure) === "worst" ? worst : typical;
  const ok = (figure.min === undefined || value >= figure.min) && (figure.max === undefined || value <= figure.max);
  return { ...figure, value, runs, verdict: ok ? "pass" : "miss" };
}

/** How a figure's runs are summed up: `over` where it has a floor, the median where it has none. */
function overOf(figure: Figure): Over {
  return figure.min === undefined && figure.max === undefined ? "median" : (figure.over ?? "median");
}

/** A figure's value as a number, or null for anything else (absent, NaN, not a number). */
export function finiteOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Runs' values as summary.md shows them, `-` for a run without one. */
export function runsText(runs: readonly (number | null)[]): string {
  return runs.map((value) => (value === null ? "-" : String(value))).join(", ");
}

/** One benchmark over its runs (at least one). */
export function summarize(benchmark: Benchmark, runs: readonly BenchmarkRun[]): BenchmarkResult {
  const status = runs.reduce<RunStatus>((worst, run) => (STATUS_RANK[run.status] > STATUS_RANK[worst] ? run.status : worst), "ran");
  const codes = runs.map((run) => run.exit_code);
  const exitCode = codes.every((code) => code === null) ? null : ([...codes].reverse().find((code) => code !== null && code !== 0) ?? 0);
  const last = [...runs].reverse().find((run) => run.result !== undefined)?.result;
  return {
    name: benchmark.name,
    status,
    exit_code: exitCode,
    seconds: Math.round(runs.reduce((sum, run) => sum + run.seconds, 0) * 10) / 10,
    figures: benchmark.figures.map((figure) => judge(figure, runs.map((run) => run.result?.[figure.name]))),
    ...(last ? { result: last } : {}),
    ...(runs.length > 1 ? { runs: [...runs] } : {}),
  };
}

function floorText(figure: Figure): string {
  if (figure.min !== undefined) return `>= ${figure.min}`;
  if (figure.max !== undefined) return `<= ${figure.max}`;
  return "(reported)";
}

function valueText(figure: FigureResult): string {
  if (figure.value === null) return "-";
  const unit = figure.unit ? ` ${figure.unit}` : "";
  if (figure.runs.length <= 1) return `${figure.value}${unit}`;
  return `${round3(figure.value)}${unit} (${overOf(figure)} of ${runsText(figure.runs)})`;
}

/** Rounded to three decimals, as summary.md shows a figure over runs. */
export function round3(value: number): number {
  return Math.round(value * 1_000) / 1_000;
}

/** summary.md: the figures against their floors (and an earlier summary's, with `--compare`), then each benchmark's runs. */
export function markdown(started: string, results: readonly BenchmarkResult[], repeat: number, comparedWith?: { path: string; started: string }): string {
  const compared = comparedWith !== undefined;
  const rows = results.flatMap((r) =>
    r.figures.map((f) => {
      const cells = [r.name, `\`${f.name}\``, valueText(f), floorText(f), f.verdict];
      if (compared) cells.push(...(f.compared ? comparisonCells(f.compared) : ["-", "not in the earlier summary"]));
      return `| ${cells.join(" | ")} |`;
    }),
  );
  const runs = results.map((r) => `| ${r.name} | ${r.status} | ${r.exit_code ?? "-"} | ${r.seconds} |`);
  return [
    `# Benchmarks ${started}`,
    "",
    ...(repeat > 1
      ? [
          `Each benchmark ran ${repeat} times, the benchmarks in turn. A figure that is a typical value is judged on the median of its runs; one that every run must keep (marked worst) on its worst run; a run without the figure misses it.`,
          "",
        ]
      : []),
    ...(compared
      ? [
          `Compared with ${comparedWith.path} (${comparedWith.started}): a figure moved (better, worse, higher, lower) only where its runs now and then separate (all above or all below) and would do so by chance at most 5% of the time were nothing changed (4 runs a side or more); with one run on either side there is no spread to judge by.`,
          "",
        ]
      : []),
    `| benchmark | figure | value | floor | verdict |${compared ? " before | change |" : ""}`,
    `| --- | --- | --- | --- | --- |${compared ? " --- | --- |" : ""}`,
    ...rows,
    "",
    "| benchmark | status | exit code | seconds |",
    "| --- | --- | --- | --- |",
    ...runs,
    "",
    `Each figure is the benchmark's own same-run ratio or measurement (see bench/<name>.ts); its full output is in ${repeat > 1 ? "<name>-<run>.log" : "<name>.log"}.`,
    "",
  ].join("\n");
}
