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
  /** Both runs side by side, for the page: present when the comparison was given the tolerance it gates with. */
  side_by_side?: SideBySide;
}

/** A check's or threshold's verdict in each run (`null`: not run there). */
export interface VerdictPair {
  name: string;
  now: boolean | null;
  baseline: boolean | null;
}

/** One gated figure in each run, its ratio and the tolerance it is judged by. */
export interface FigurePair {
  /** e.g. `ack p99`, `error rate`. */
  name: string;
  unit: "ms" | "ratio";
  now: number | null;
  baseline: number | null;
  /** now ÷ baseline (null when either is missing or the baseline's is 0). */
  ratio: number | null;
  /** Largest ratio allowed, and the absolute slack under which a worse figure still passes. */
  max_ratio: number;
  slack: number;
  /** Whether the baseline gate judges this figure (p50 and p99 are gated; p90 and max are shown for context). */
  gated: boolean;
  /** Within the tolerance (null when a side lacks the figure). */
  pass: boolean | null;
}

/** Both runs' checks, thresholds and key figures, and the tolerance of the comparison. */
export interface SideBySide {
  checks: VerdictPair[];
  figures: FigurePair[];
  tolerance: BaselineGateTolerance;
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
export function compareWithBaseline(current: ComparedRun, baseline: Partial<RunResult>, tolerance?: BaselineGateTolerance): BaselineComparison {
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
    ...(tolerance ? { side_by_side: sideBySide(current, baseline, tolerance) } : {}),
  };
}

/** Every check and threshold of either run with both verdicts, and the latency percentiles and error rate of both. */
export function sideBySide(current: ComparedRun, baseline: Partial<RunResult>, tolerance: BaselineGateTolerance): SideBySide {
  const before = verdicts(baseline.checks);
  const now = verdicts(current.checks);
  const names = [...now.keys(), ...[...before.keys()].filter((name) => !now.has(name))].filter((name) => !name.startsWith("baseline: "));
  const checks = names.map((name) => ({ name, now: now.get(name) ?? null, baseline: before.get(name) ?? null }));
  const figures: FigurePair[] = [];
  const pair = (name: string, unit: FigurePair["unit"], a: unknown, b: unknown, maxRatio: number, slack: number, gated: boolean) => {
    const n = typeof a === "number" && Number.isFinite(a) ? a : null;
    const base = typeof b === "number" && Number.isFinite(b) ? b : null;
    const pass = n === null || base === null ? null : n <= base * maxRatio || n - base <= slack;
    figures.push({ name, unit, now: n, baseline: base, ratio: ratio(n, base), max_ratio: maxRatio, slack, gated, pass });
  };
  for (const kind of LATENCY_KINDS) {
    const a = latencyOf(current.fleet_summary, kind);
    const b = latencyOf(baseline.fleet_summary, kind);
    if (!a && !b) continue;
    for (const p of LATENCY_PERCENTILES) pair(`${kind} ${p}`, "ms", a?.[p], b?.[p], tolerance.latencyRatio, tolerance.latencyDeltaMs, (GATED_PERCENTILES as readonly string[]).includes(p));
  }
  const rateNow = errorRate(current.fleet_summary);
  const rateBefore = errorRate(baseline.fleet_summary);
  if (rateNow !== undefined || rateBefore !== undefined) pair("error rate", "ratio", rateNow, rateBefore, tolerance.rateRatio, tolerance.rateDelta, true);
  return { checks, figures, tolerance: { ...tolerance } };
}

/** Tolerances of {@link baselineResults} (all required here; the profile's defaults are filled in by the loader). */
export interface BaselineGateTolerance {
  latencyRatio: number;
  latencyDeltaMs: number;
  rateRatio: number;
  rateDelta: number;
}

/** Latency percentiles the gate compares (p90 and max add noise without adding a verdict). */
const GATED_PERCENTILES = ["p50", "p99"] as const;

function errorRate(summary: unknown): number | undefined {
  const messages = (summary as { messages?: { sent?: unknown; errors?: unknown } } | undefined)?.messages;
  if (typeof messages?.sent !== "number" || typeof messages.errors !== "number" || messages.sent <= 0) return undefined;
  return messages.errors / messages.sent;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The `--baseline` gate as named results: `baseline: <check> still passes` for each check that passed in the
 * baseline (its own baseline results aside), `baseline: <kind> <pNN> within <ratio>× baseline` for the p50 and
 * p99 of each latency kind both fleet summaries have, and `baseline: error rate within <ratio>× baseline`. A figure
 * fails only when it is worse than ratio × baseline *and* worse by more than the absolute delta.
 */
export function baselineResults(current: ComparedRun, baseline: Partial<RunResult>, tolerance: BaselineGateTolerance): CheckResult[] {
  const out: CheckResult[] = [];
  const now = verdicts(current.checks);
  for (const [name, passed] of verdicts(baseline.checks)) {
    if (!passed || name.startsWith("baseline: ")) continue;
    const verdict = now.get(name);
    out.push({
      name: `baseline: ${name} still passes`,
      pass: verdict !== false,
      expected: "pass (it passed in the baseline)",
      actual: verdict === undefined ? "not run" : verdict ? "pass" : "FAIL",
      evidence: { baseline_run_id: baseline.run_id ?? null },
    });
  }
  for (const kind of LATENCY_KINDS) {
    const a = latencyOf(current.fleet_summary, kind);
    const b = latencyOf(baseline.fleet_summary, kind);
    if (!a || !b) continue;
    for (const p of GATED_PERCENTILES) {
      const nowMs = a[p];
      const beforeMs = b[p];
      if (typeof nowMs !== "number" || typeof beforeMs !== "number") continue;
      const pass = nowMs <= beforeMs * tolerance.latencyRatio || nowMs - beforeMs <= tolerance.latencyDeltaMs;
      out.push({
        name: `baseline: ${kind} ${p} within ${tolerance.latencyRatio}× baseline`,
        pass,
        expected: `<= ${round(beforeMs * tolerance.latencyRatio)} ms (or <= ${round(beforeMs + tolerance.latencyDeltaMs)} ms)`,
        actual: `${round(nowMs)} ms (baseline ${round(beforeMs)} ms, ratio ${beforeMs > 0 ? round(nowMs / beforeMs, 2) : "∞"})`,
        evidence: { now_ms: nowMs, baseline_ms: beforeMs, ratio: beforeMs > 0 ? nowMs / beforeMs : null, tolerance },
      });
    }
  }
  const rateNow = errorRate(current.fleet_summary);
  const rateBefore = errorRate(baseline.fleet_summary);
  if (rateNow !== undefined && rateBefore !== undefined) {
    out.push({
      name: `baseline: error rate within ${tolerance.rateRatio}× baseline`,
      pass: rateNow <= rateBefore * tolerance.rateRatio || rateNow - rateBefore <= tolerance.rateDelta,
      expected: `<= ${round(rateBefore * tolerance.rateRatio, 5)} (or <= ${round(rateBefore + tolerance.rateDelta, 5)})`,
      actual: `${round(rateNow, 5)} (baseline ${round(rateBefore, 5)})`,
      evidence: { now: rateNow, baseline: rateBefore, tolerance },
    });
  }
  return out;
}
