import type { CheckName, CheckThresholds } from "../checks/check.js";
import { HarnessError } from "../errors.js";
import type { RedisMode } from "../runtime/runtime.js";
import type { Step } from "./step.js";

/** Profile names: `ci` (small and fast, gates every change) and `release` (full size). */
export type ProfileName = "ci" | "release";

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
}

/** A profile after CLI overrides (`--instances`, `--clients`, `--duration`), with defaults filled in. */
export type ResolvedProfile = Readonly<Required<ScenarioProfile>>;

/** A scenario: typed data and steps, no infrastructure code. The file name is its CLI name. */
export interface ScenarioDefinition {
  /** CLI name, e.g. `restart` (kebab-case, equal to the file name). */
  name: string;
  /** One line for `--list`. */
  description: string;
  /** Redis topology. @default "standalone" */
  redis?: RedisMode;
  /** Invariants checked at the end, by DESIGN.md name. */
  checks: CheckName[];
  profiles: Record<ProfileName, ScenarioProfile>;
  /** The steps, built from the resolved profile (sizes and durations). */
  steps(profile: ResolvedProfile): Step[];
}

/** Defaults of optional profile fields. */
export const DEFAULT_PROFILE_OPTIONS = Object.freeze({ rampPerSecond: 0, connectionTtlMs: 30_000, heartbeatIntervalMs: 10_000, drainTimeoutMs: 10_000 });

function invalid(name: string, rule: string): HarnessError {
  return new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `scenario ${JSON.stringify(name)}: ${rule}`);
}

/** Resolves a profile and checks its numbers. */
export function resolveProfile(scenario: ScenarioDefinition, profile: ScenarioProfile): ResolvedProfile {
  const resolved = { ...DEFAULT_PROFILE_OPTIONS, ...profile, thresholds: Object.freeze({ ...profile.thresholds }) };
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
  return Object.freeze(resolved);
}

/** Checks a scenario definition once, at load time, and freezes it. */
export function defineScenario(definition: ScenarioDefinition): ScenarioDefinition {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) throw invalid(definition.name, "name must be kebab-case");
  if (definition.description.trim().length === 0 || definition.description.includes("\n")) throw invalid(definition.name, "description must be one non-empty line");
  if (definition.checks.length === 0) throw invalid(definition.name, "a scenario must name at least one check");
  for (const name of ["ci", "release"] as const) {
    if (!definition.profiles[name]) throw invalid(definition.name, `profile ${name} is missing`);
    const steps = definition.steps(resolveProfile(definition, definition.profiles[name]));
    if (!steps.some((step) => step.kind === "connect_fleet")) throw invalid(definition.name, `profile ${name}: steps must connect the fleet`);
  }
  return Object.freeze({ ...definition, checks: Object.freeze([...definition.checks]) as CheckName[] });
}
