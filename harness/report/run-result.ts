/**
 * The JSON model of one scenario run: `reports/<run-id>/run.json`. It is the whole record (config, seed, plan,
 * events, samples, checks); the HTML and JUnit reports are rendered from it alone. Its events are the union of
 * `harness/events/run-events.ts`.
 */
import type { RunEvent } from "../events/run-events.js";

/** Version of this model; bumped on incompatible changes. */
export const RUN_RESULT_SCHEMA_VERSION = 1;

export type { RunEvent, RunEventSource } from "../events/run-events.js";

/** Latency percentiles in ms. */
export interface LatencyPercentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One per-second sample. */
export interface Sample {
  /** Epoch ms. */
  t: number;
  /** ms since the run started. */
  elapsed_ms: number;
  phase: string;
  /** The fleet's view; `null` before the fleet starts. */
  fleet: {
    connected: number;
    by_instance: Record<string, number>;
    reconnecting: number;
    pending: number;
    messages: { sent: number; acked: number; received: number; errors: number; delivered: number };
    latency: { connect?: LatencyPercentiles; ack?: LatencyPercentiles; delivery?: LatencyPercentiles };
  } | null;
  /** Messages per second since the previous sample. */
  rates: { sent: number; acked: number; received: number; errors: number };
  /** Registry sizes read directly from Redis, or the error of the read. */
  registry: {
    records: number;
    session_index_members: number;
    agent_type_index_members: number;
    pillar_index_members: number;
    reverse_keys: number;
    by_instance: Record<string, number>;
  } | { error: string };
  /** PING round trip to Redis in ms (direct), or `null` when it failed. */
  redis_ping_ms: number | null;
  /**
   * Commands of the SUT's clients that Redis ran for 20 ms or more since the previous sample (its SLOWLOG; each
   * held every other client as long): how many, the longest in ms, and how many per command name. `null` when the
   * read failed; absent in runs recorded before it existed.
   */
  redis_slow?: { count: number; max_ms: number; by_command: Record<string, number> } | null;
  /** Per instance: whether /metrics answered, and its numeric series (name{labels} → value). */
  gateways: Record<string, { up: boolean; metrics?: Record<string, number> }>;
  /** Descriptions of the faults in effect. */
  active_faults: string[];
}

/** A check's verdict: a failed check is a result, not an exception. */
export interface CheckResult {
  /** Invariant name of docs/design.md, e.g. `restart-survival`. */
  name: string;
  pass: boolean;
  expected: unknown;
  actual: unknown;
  /** Enough detail to see why (first offending items, counts, bounds). */
  evidence: unknown;
  /** How long the check took, in ms. */
  duration_ms?: number;
}

/** A phase of the run (a named stretch of steps). */
export interface PhaseSpan {
  name: string;
  start: number;
  end?: number;
}

/** Outcome of a run: `passed` (exit 0), `failed` (exit 1), `error` or `aborted` (exit 2). */
export type RunStatus = "passed" | "failed" | "error" | "aborted";

/** Where the run's whole event history is: `events.ndjson` beside run.json, one event per line. */
export interface EventLogInfo {
  /** File name, relative to run.json's directory. */
  file: string;
  /** Events in the file: every event of the run. */
  events: number;
  /** Fleet message events in the file but not in `events`. */
  omitted: number;
}

/** The whole run record. */
export interface RunResult {
  schema_version: typeof RUN_RESULT_SCHEMA_VERSION;
  run_id: string;
  scenario: string;
  description: string;
  status: RunStatus;
  exit_code: 0 | 1 | 2;
  /** ISO timestamps. */
  started_at: string;
  ended_at: string;
  duration_ms: number;
  seed: number;
  profile: string;
  /** Everything the run was configured with (resolved flags and profile). */
  config: Record<string, unknown>;
  /** Addresses and timings of the topology. */
  topology: Record<string, unknown>;
  /** The seeded schedule: every step with its concrete targets and delays. */
  plan: unknown[];
  phases: PhaseSpan[];
  /**
   * The run's events in recorded order: every one, unless `event_log.omitted` says how many fleet message events
   * are only in the event log (long runs keep the first 50,000 here).
   */
  events: RunEvent[];
  /** The NDJSON file beside run.json holding every event of the run (absent in runs recorded before it existed). */
  event_log?: EventLogInfo;
  samples: Sample[];
  checks: CheckResult[];
  /** The fleet's final totals and latency percentiles. */
  fleet_summary?: Record<string, unknown>;
  /** Comparison with `--baseline`, when given. */
  baseline?: Record<string, unknown>;
  /** The harness failure that ended the run (status `error` or `aborted`). */
  error?: { code?: string; message: string };
}
