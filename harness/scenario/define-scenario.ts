import type { CheckName, CheckThresholds } from "../checks/check.js";
import { HarnessError } from "../errors.js";
import type { RedisMode, RuntimeCapabilities } from "../runtime/runtime.js";
import type { Step } from "./step.js";
import { parseThresholdExpression } from "./threshold-expression.js";

/** Profile names: `ci` (small and fast, gates every change) and `release` (full size). */
export type ProfileName = "ci" | "release";

/**
 * Figures a k6-style threshold may bound: `ack_latency` (route sent -> ack), `delivery_latency` (route sent ->
 * received by a peer), `connect_latency` (upgrade -> welcome), `lookup_latency` (HTTP lookups of the lookup
 * probe), `reconnect_time` (a client's unexpected disconnect -> its next welcome), all in ms; and `error_rate`
 * (message errors / messages sent), for every code or, as `error_rate{code:X}`, for one. `ack_latency{partial:false}`
 * is the ack latency of the routes the gateway confirmed in full: a `"partial":true` ack waited for a holder that
 * did not answer (killed with the route in flight) up to the gateway's remote-ack timeout, and the `delivery` check
 * already fails such acks outside the fault windows that explain them.
 */
export type ThresholdMetric = "ack_latency" | "delivery_latency" | "connect_latency" | "lookup_latency" | "reconnect_time" | "error_rate";

/** A key of {@link ScenarioProfile.metricThresholds}: a metric, the error rate of one code, or the confirmed acks. */
export type ThresholdMetricKey = ThresholdMetric | `error_rate{code:${string}}` | typeof CONFIRMED_ACK_LATENCY;

/** The threshold key of the ack latency of routes acked without `"partial":true`. */
export const CONFIRMED_ACK_LATENCY = "ack_latency{partial:false}";

/**
 * One threshold: an expression such as `"p99 < 250"` (see `threshold-expression.ts`), or the same with
 * `abortOnFail` to stop the run as soon as it is breached (checked once a second after `delayAbortEvalMs`).
 */
export type ThresholdSpec = string | { threshold: string; abortOnFail?: boolean; delayAbortEvalMs?: number };

/** k6-style thresholds on measured figures; each expression is one named result (`threshold: ack p99 < 250 ms`). */
export type MetricThresholds = Partial<Record<ThresholdMetricKey, readonly ThresholdSpec[]>>;

/** How much worse than a `--baseline` run this run may be before the comparison fails it. */
export interface BaselineTolerance {
  /** Largest latency percentile ratio (this run ÷ baseline). @default 1.5 */
  latencyRatio?: number;
  /** A latency percentile worse by at most this many ms passes whatever the ratio (small figures are noisy). @default 5 */
  latencyDeltaMs?: number;
  /** Largest message error rate ratio (this run ÷ baseline). @default 1.5 */
  rateRatio?: number;
  /** An error rate worse by at most this much passes whatever the ratio. @default 0.001 */
  rateDelta?: number;
}

/** Defaults of {@link BaselineTolerance}. */
export const DEFAULT_BASELINE_TOLERANCE: Readonly<Required<BaselineTolerance>> = Object.freeze({ latencyRatio: 1.5, latencyDeltaMs: 5, rateRatio: 1.5, rateDelta: 0.001 });

const THRESHOLD_METRICS: readonly string[] = ["ack_latency", "delivery_latency", "connect_latency", "lookup_latency", "reconnect_time", "error_rate"];

/** What a {@link ThresholdMetricKey} names: its metric, and the code or the confirmed-acks filter it adds. */
export interface ParsedThresholdKey {
  metric: ThresholdMetric;
  /** The error code of `error_rate{code:X}`. */
  code?: string;
  /** `ack_latency{partial:false}`: only the acks without `"partial":true`. */
  confirmedOnly?: true;
}

/** Reads a threshold key; `undefined` for a key that names no metric. */
export function parseThresholdKey(key: string): ParsedThresholdKey | undefined {
  if (key === CONFIRMED_ACK_LATENCY) return { metric: "ack_latency", confirmedOnly: true };
  const code = /^error_rate\{code:([^}]+)\}$/.exec(key)?.[1];
  if (code !== undefined) return { metric: "error_rate", code };
  return THRESHOLD_METRICS.includes(key) ? { metric: key as ThresholdMetric } : undefined;
}

/** Sizes, durations and thresholds of one profile. */
export interface ScenarioProfile {
  /** Gateway instances. */
  instances: number;
  /** Simulated clients. */
  clients: number;
  /** Main hold time under load, in seconds (`--duration` overrides it). */
  durationS: number;
  /** Route messages per second across the fleet while loaded. */
  messageRatePerSecond: number;
  /** Connects per second during the ramp (0 = as fast as possible). @default 0 */
  rampPerSecond?: number;
  /** `CONNECTION_TTL_MS` of the gateways. @default 30000 */
  connectionTtlMs?: number;
  /** `HEARTBEAT_INTERVAL_MS` of the gateways. @default 10000 */
  heartbeatIntervalMs?: number;
  /** `DRAIN_TIMEOUT_MS` of the gateways. @default 10000 */
  drainTimeoutMs?: number;
  /** Bounds the checks apply. */
  thresholds: CheckThresholds;
  /** Thresholds on measured figures, next to the invariants; a breached one fails the run (exit 1). @default {} */
  metricThresholds?: MetricThresholds;
  /** Tolerances of the `--baseline` comparison. @default DEFAULT_BASELINE_TOLERANCE */
  baselineTolerance?: BaselineTolerance;
}

/** A profile after CLI overrides (`--instances`, `--clients`, `--duration`), with defaults filled in. */
export type ResolvedProfile = Readonly<Required<ScenarioProfile>>;

/**
 * What a scenario's steps may depend on besides the profile: the run's seed (a schedule drawn from it, as `chaos`
 * does, is the same for the same seed) and what the runtime can do (so a schedule can leave out what it cannot).
 */
export interface ScenarioStepContext {
  /** The run's `--seed`. */
  seed: number;
  /** Capabilities of the runtime the run will use (`--runtime`, Redis mode). */
  capabilities: RuntimeCapabilities;
}

/** The context {@link defineScenario} builds every profile's steps with when it checks a scenario at load time. */
export const DEFINE_TIME_STEP_CONTEXT: ScenarioStepContext = Object.freeze({
  seed: 1,
  capabilities: Object.freeze({ pause: true, redisRestart: true, networkPartition: false, redisModes: Object.freeze(["standalone"] as RedisMode[]), redisFailover: false }),
});

/** A scenario: typed data and steps, no infrastructure code. The file name is its CLI name. */
export interface ScenarioDefinition {
  /** CLI name, e.g. `restart` (kebab-case, equal to the file name). */
  name: string;
  /** One line for `--list`. */
  description: string;
  /** Redis topology. @default "standalone" */
  redis?: RedisMode;
  /** Invariants checked at the end, by docs/design.md name. */
  checks: CheckName[];
  profiles: Record<ProfileName, ScenarioProfile>;
  /** The steps, built from the resolved profile (sizes and durations) and, where a schedule is drawn, the seed and capabilities. */
  steps(profile: ResolvedProfile, context: ScenarioStepContext): Step[];
}

/** Defaults of optional profile fields. */
export const DEFAULT_PROFILE_OPTIONS = Object.freeze({ rampPerSecond: 0, connectionTtlMs: 30_000, heartbeatIntervalMs: 10_000, drainTimeoutMs: 10_000, metricThresholds: Object.freeze({}) as MetricThresholds });

function invalid(name: string, rule: string): HarnessError {
  return new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `scenario ${JSON.stringify(name)}: ${rule}`);
}

/** Resolves a profile and checks its numbers. */
export function resolveProfile(scenario: ScenarioDefinition, profile: ScenarioProfile): ResolvedProfile {
  const resolved = {
    ...DEFAULT_PROFILE_OPTIONS,
    ...profile,
    thresholds: Object.freeze({ ...profile.thresholds }),
    baselineTolerance: Object.freeze({ ...DEFAULT_BASELINE_TOLERANCE, ...profile.baselineTolerance }),
  };
  const positiveInt = (key: "instances" | "clients") => {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw invalid(scenario.name, `${key} must be a positive integer (got ${resolved[key]})`);
  };
  positiveInt("instances");
  positiveInt("clients");
  for (const key of ["durationS", "messageRatePerSecond", "rampPerSecond", "connectionTtlMs", "heartbeatIntervalMs", "drainTimeoutMs"] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) throw invalid(scenario.name, `${key} must be a non-negative number (got ${resolved[key]})`);
  }
  if (resolved.heartbeatIntervalMs >= resolved.connectionTtlMs) throw invalid(scenario.name, "heartbeatIntervalMs must be shorter than connectionTtlMs");
  const t = resolved.thresholds;
  if (!(t.minDeliveryRatio >= 0 && t.minDeliveryRatio <= 1)) throw invalid(scenario.name, "thresholds.minDeliveryRatio must be in 0..1");
  if (!(t.reconnectBoundMs > 0) || !(t.settleBoundMs > 0)) throw invalid(scenario.name, "thresholds.reconnectBoundMs and settleBoundMs must be positive");
  checkMetricThresholds(scenario.name, resolved.metricThresholds);
  for (const [key, value] of Object.entries(resolved.baselineTolerance)) {
    if (!(Number.isFinite(value) && value >= 0)) throw invalid(scenario.name, `baselineTolerance.${key} must be a non-negative number (got ${value})`);
  }
  return Object.freeze(resolved);
}

function checkMetricThresholds(name: string, thresholds: MetricThresholds): void {
  for (const [key, specs] of Object.entries(thresholds)) {
    const metric = parseThresholdKey(key)?.metric;
    if (metric === undefined) throw invalid(name, `metricThresholds: unknown metric ${JSON.stringify(key)} (one of ${THRESHOLD_METRICS.join(", ")}, error_rate{code:X} or ${CONFIRMED_ACK_LATENCY})`);
    for (const spec of specs ?? []) {
      const text = typeof spec === "string" ? spec : spec.threshold;
      let kind: string;
      try {
        kind = parseThresholdExpression(text).aggregation.kind;
      } catch (error) {
        throw invalid(name, `metricThresholds.${key}: ${(error as Error).message}`);
      }
      if (metric === "error_rate" ? kind !== "rate" && kind !== "count" : kind === "rate") throw invalid(name, `metricThresholds.${key}: ${JSON.stringify(text)} uses ${kind}, which ${metric === "error_rate" ? "an error rate does not have (use rate or count)" : "only error_rate has"}`);
      if (typeof spec !== "string" && spec.delayAbortEvalMs !== undefined && !(spec.delayAbortEvalMs >= 0)) throw invalid(name, `metricThresholds.${key}: delayAbortEvalMs must be a non-negative number of ms`);
    }
  }
}

/** Checks a scenario definition once, at load time, and freezes it. */
export function defineScenario(definition: ScenarioDefinition): ScenarioDefinition {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) throw invalid(definition.name, "name must be kebab-case");
  if (definition.description.trim().length === 0 || definition.description.includes("\n")) throw invalid(definition.name, "description must be one non-empty line");
  if (definition.checks.length === 0) throw invalid(definition.name, "a scenario must name at least one check");
  for (const name of ["ci", "release"] as const) {
    if (!definition.profiles[name]) throw invalid(definition.name, `profile ${name} is missing`);
    const steps = definition.steps(resolveProfile(definition, definition.profiles[name]), DEFINE_TIME_STEP_CONTEXT);
    if (!steps.some((step) => step.kind === "connect_fleet")) throw invalid(definition.name, `profile ${name}: steps must connect the fleet`);
  }
  return Object.freeze({ ...definition, checks: Object.freeze([...definition.checks]) as CheckName[] });
}
