import type { CheckResult, RunResult } from "./run-result.js";

/** The latency kinds of the fleet summary that a comparison reports, and their percentiles. */
const LATENCY_KINDS = ["connect", "ack", "delivery"] as const;
const LATENCY_PERCENTILES = ["p50", "p90", "p99", "max"] as const;

/** This run ÷ the baseline for one latency kind; `null` where either side lacks the figure or the baseline's is 0. */
export type LatencyRatios = Record<(typeof LATENCY_PERCENTILES)[number], number | null>;

/** How a run differs from a baseline run (the `baseline` field of run.json, rendered by the HTML report). */
export interface BaselineComparison {
  run_id: string | null;
  seed: number | null;
  /** This run's duration ÷ the baseline's, to two decimals; `null` when the baseline has no duration. */
  duration_ratio: number | null;
  /** Checks that passed in the baseline and fail now. */
  regressions: string[];
  /** Checks that failed in the baseline and pass now. */
  fixed: string[];
  /** Checks this run has and the baseline does not. */
  added: string[];
  /** Checks the baseline has and this run does not. */
  removed: string[];
  /** Per latency kind of the fleet summary (`connect`, `ack` = route ack, `delivery`), present in both runs. */
  latency_ratios: Partial<Record<(typeof LATENCY_KINDS)[number], LatencyRatios>>;
}

/** What of the current run a comparison reads. */
export type ComparedRun = Pick<RunResult, "checks" | "duration_ms"> & Partial<Pick<RunResult, "fleet_summary">>;

function ratio(now: unknown, before: unknown): number | null {
  if (typeof now !== "number" || typeof before !== "number" || !Number.isFinite(now) || !Number.isFinite(before) || before <= 0) return null;
  return Math.round((now / before) * 100) / 100;
}

function latencyOf(summary: unknown, kind: string): Record<string, unknown> | undefined {
  const latency = (summary as { latency?: Record<string, unknown> } | undefined)?.latency;
  const value = latency?.[kind];
  return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
}

function verdicts(checks: unknown): Map<string, boolean> {
  const out = new Map<string, boolean>();
  if (!Array.isArray(checks)) return out;
  for (const check of checks as Partial<CheckResult>[]) {
    if (check && typeof check.name === "string") out.set(check.name, check.pass === true);
  }
  return out;
}

/**
 * Compares a run with a baseline run.json (parsed, possibly from an older harness: every field is optional):
 * which checks changed verdict, the duration ratio, and latency percentile ratios from the fleet summaries.
 * Pure; the caller reads the file and adds its path.
 */
export function compareWithBaseline(current: ComparedRun, baseline: Partial<RunResult>): BaselineComparison {
  const before = verdicts(baseline.checks);
  const now = verdicts(current.checks);
  const latencyRatios: BaselineComparison["latency_ratios"] = {};
  for (const kind of LATENCY_KINDS) {
    const a = latencyOf(current.fleet_summary, kind);
    const b = latencyOf(baseline.fleet_summary, kind);
    if (!a || !b) continue;
    latencyRatios[kind] = Object.fromEntries(LATENCY_PERCENTILES.map((p) => [p, ratio(a[p], b[p])])) as LatencyRatios;
  }
  return {
    run_id: typeof baseline.run_id === "string" ? baseline.run_id : null,
    seed: typeof baseline.seed === "number" ? baseline.seed : null,
    duration_ratio: ratio(current.duration_ms, baseline.duration_ms),
    regressions: [...now].filter(([name, pass]) => !pass && before.get(name) === true).map(([name]) => name),
    fixed: [...now].filter(([name, pass]) => pass && before.get(name) === false).map(([name]) => name),
    added: [...now.keys()].filter((name) => !before.has(name)),
    removed: [...before.keys()].filter((name) => !now.has(name)),
    latency_ratios: latencyRatios,
  };
}
