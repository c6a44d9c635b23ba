import { readFile } from "node:fs/promises";
import type { Clock } from "../common/clock.js";
import { HarnessError } from "../errors.js";
import { baselineResults, compareWithBaseline } from "../report/baseline-comparison.js";
import type { CheckResult, RunEvent, RunResult, RunStatus } from "../report/run-result.js";
import { DEFAULT_BASELINE_TOLERANCE, type BaselineTolerance, type ResolvedProfile } from "./define-scenario.js";
import { ThresholdMetrics } from "./threshold-metrics.js";
import { measureThreshold, parseThresholds, thresholdResult, type Threshold } from "./thresholds.js";

/** How often thresholds with `abortOnFail` are evaluated during the run. */
const ABORT_EVAL_INTERVAL_MS = 1_000;

/** Options of a {@link RunGate}. */
export interface RunGateOptions {
  /** The run's own abort signal (Ctrl-C); the gate's signal follows it. */
  signal?: AbortSignal;
  /** A previous run.json to compare with (`--baseline`). */
  baselinePath?: string;
  /** `--baseline-tolerance`: replaces the profile's `latencyRatio` and `rateRatio`. */
  toleranceRatio?: number;
  clock: Clock;
}

/** A source of events as they are recorded (the recorder). */
export interface EventFeed {
  subscribe(listener: (event: RunEvent) => void): () => void;
}

/** What the run ends with once the gate has judged it. */
export interface GateVerdict {
  status: RunStatus;
  error: RunResult["error"];
  /** The `baseline` field of run.json: the comparison, or the error reading the baseline. */
  baseline?: Record<string, unknown>;
}

/**
 * The run's gate beyond the invariants: the profile's k6-style thresholds (each a named result; those with
 * `abortOnFail` watched once a second, stopping the run on a breach) and the `--baseline` comparison with its
 * tolerances. The engine calls it in three places: `signal` for every step, `watch()` once the profile is known,
 * `finish()` once the topology is down.
 */
export class RunGate {
  readonly #controller = new AbortController();
  readonly #options: RunGateOptions;
  readonly #metrics = new ThresholdMetrics();
  #thresholds: Threshold[] = [];
  #events: readonly RunEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #breach: { threshold: Threshold; atMs: number; value: number } | undefined;
  /** The profile's tolerances (the defaults when the run failed before its profile was resolved). */
  #tolerance: Required<BaselineTolerance> = DEFAULT_BASELINE_TOLERANCE;
  /** Aborts when the run's own signal does, or when a threshold with `abortOnFail` is breached. */
  readonly signal: AbortSignal;

  constructor(options: RunGateOptions) {
    this.#options = options;
    if (options.toleranceRatio !== undefined) this.#tolerance = { ...DEFAULT_BASELINE_TOLERANCE, latencyRatio: options.toleranceRatio, rateRatio: options.toleranceRatio };
    this.signal = options.signal ? AbortSignal.any([options.signal, this.#controller.signal]) : this.#controller.signal;
  }

  /**
   * Starts watching the run's events against the profile's thresholds: a growing array read once a second, or a
   * recorder whose events are handed over as they are recorded (the whole history, even the part not kept in memory).
   */
  watch(profile: ResolvedProfile, events: readonly RunEvent[] | EventFeed): void {
    this.#thresholds = parseThresholds(profile.metricThresholds);
    const ratio = this.#options.toleranceRatio;
    this.#tolerance = { ...DEFAULT_BASELINE_TOLERANCE, ...profile.baselineTolerance, ...(ratio !== undefined ? { latencyRatio: ratio, rateRatio: ratio } : {}) };
    if ("subscribe" in events) events.subscribe((event) => this.#metrics.add(event));
    else this.#events = events;
    const watched = this.#thresholds.filter((threshold) => threshold.abortOnFail);
    if (watched.length === 0) return;
    const startedAt = this.#options.clock.now();
    this.#timer = setInterval(() => {
      this.#metrics.consume(this.#events);
      const elapsed = this.#options.clock.now() - startedAt;
      for (const threshold of watched) {
        if (elapsed < threshold.delayAbortEvalMs || this.#breach) continue;
        const measure = measureThreshold(threshold, this.#metrics);
        // No data yet is not a breach: only a measured figure beyond the bound stops the run.
        if (measure.value === undefined) continue;
        const result = thresholdResult(threshold, measure);
        if (result.pass) continue;
        this.#breach = { threshold, atMs: elapsed, value: measure.value };
        clearInterval(this.#timer);
        this.#controller.abort(new HarnessError("HARNESS_ERR_ABORTED", `${threshold.name} breached (${result.actual as string}) after ${elapsed} ms: run stopped (abortOnFail)`));
      }
    }, ABORT_EVAL_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * Adds the threshold and baseline results to `checks` and gives the run's final status: a failed threshold or
   * baseline comparison turns `passed` into `failed`; a breach that stopped the run is `failed`, not `aborted`.
   * Thresholds are judged only for runs that completed or were stopped by a breach (a harness error leaves too
   * little history to judge).
   */
  async finish(run: { status: RunStatus; error: RunResult["error"]; checks: CheckResult[]; fleetSummary?: Record<string, unknown>; durationMs: number }): Promise<GateVerdict> {
    clearInterval(this.#timer);
    let { status, error } = run;
    if (this.#breach && status === "aborted") {
      status = "failed";
      error = undefined;
    }
    if (status !== "passed" && status !== "failed") return { status, error };
    this.#metrics.consume(this.#events);
    const gated: CheckResult[] = this.#thresholds.map((threshold) =>
      thresholdResult(threshold, measureThreshold(threshold, this.#metrics), this.#breach?.threshold === threshold ? { atMs: this.#breach.atMs, value: this.#breach.value } : undefined),
    );
    run.checks.push(...gated);
    let baseline: Record<string, unknown> | undefined;
    if (this.#options.baselinePath) {
      const path = this.#options.baselinePath;
      const current = { checks: run.checks, duration_ms: run.durationMs, ...(run.fleetSummary ? { fleet_summary: run.fleetSummary } : {}) };
      try {
        const before = JSON.parse(await readFile(path, "utf8")) as Partial<RunResult>;
        baseline = { path, ...compareWithBaseline(current, before, this.#tolerance) };
        run.checks.push(...baselineResults(current, before, this.#tolerance));
      } catch (caught) {
        baseline = { path, error: (caught as Error).message };
        run.checks.push({ name: "baseline: read", pass: false, expected: "a readable run.json", actual: (caught as Error).message, evidence: { path } });
      }
    }
    if (status === "passed" && run.checks.some((check) => !check.pass)) status = "failed";
    return { status, error, ...(baseline ? { baseline } : {}) };
  }
}
