import type { Fault } from "../faults/fault.js";
import { MAX_HTTP_LOAD_DURATION_S } from "../load/http-load.js";

/** One step of a scenario; data only, run by the engine in order. */
export type Step =
  /** Starts a named phase (shown live and in reports). */
  | { kind: "phase"; name: string }
  /** Starts the client fleet and waits until every client is connected (at most `timeoutMs`). */
  | { kind: "connect_fleet"; timeoutMs: number }
  /** Sets the fleet's route rate (messages per second across the fleet; 0 pauses). */
  | { kind: "messages"; perSecond: number }
  /** Lets time pass under the current load: `ms` plus a seeded `0..jitterMs`. */
  | { kind: "hold"; ms: number; jitterMs: number }
  /** Injects a fault; waits for its end unless `background`. */
  | { kind: "fault"; fault: Fault; background: boolean }
  /** Waits until every client is connected again (at most `timeoutMs`). */
  | { kind: "await_connected"; timeoutMs: number }
  /** Pauses messages, waits for every sent message's outcome and every client to be connected (at most `timeoutMs`). */
  | { kind: "settle"; timeoutMs: number }
  /** Writes session state for every fleet session over HTTP (read back by `restart-survival`). */
  | { kind: "write_session_state"; fieldsPerSession: number }
  /** Looks up live connections from every instance and routes across instances (judged by `cross-instance-lookup`). */
  | { kind: "probe_lookups"; maxConnections: number }
  /** Probes other tenants' data from a tenant of its own over HTTP and WS (judged by `tenant-isolation`). */
  | { kind: "probe_tenant_isolation"; victims: number }
  /** Probes lookups during a background Redis partition, then reconciliation after it heals (judged by `degraded-mode`). */
  | { kind: "probe_degraded_mode"; rounds: number; reconcileTimeoutMs: number }
  /**
   * Watches Redis during a background `Fault.freezeInstance`, then how the registry recovers after the wake
   * (judged by `pause-recovery`).
   */
  | { kind: "probe_wake"; recoverTimeoutMs: number }
  /** Opens probe connections and makes them vanish without unregistering (judged by `ttl-expiry`). */
  | { kind: "strand_connections"; count: number; how: "cut" | "kill" }
  /**
   * Floods the HTTP lookup or route API of every live instance with autocannon for `durationMs`, at most
   * `ratePerSecond` requests per second across instances, over one fleet tenant's sessions; records `http_load`.
   * Waits for its end unless `background`. Fails (a `step: …` result) when skipped, when its load cannot run, or
   * when more than 1% of its requests fail (any, below 100 requests).
   */
  | { kind: "http_load"; endpoint: HttpLoadEndpoint; durationMs: number; connections: number; ratePerSecond: number; background: boolean }
  /** Waits until every background fault and load started so far has ended. */
  | { kind: "await_background" }
  /** Records a schedule drawn from the seed as an engine `schedule` event (data only; it is also in run.json's plan). */
  | { kind: "record_schedule"; schedule: Readonly<Record<string, unknown>> };

/** The kinds of {@link Step}: the engine runs each with the handler of the same name (harness/scenario/steps/). */
export type StepKind = Step["kind"];

/** Which HTTP endpoint {@link Step.httpLoad} floods: `lookup` = GET session connections, `route` = POST session messages. */
export type HttpLoadEndpoint = "lookup" | "route";

/** Longest HTTP flood a step may ask for, in ms (load must stop by itself): the flood's own bound. */
export const MAX_HTTP_LOAD_STEP_MS = MAX_HTTP_LOAD_DURATION_S * 1_000;
/** Most HTTP connections a step may ask for in total: the per-flood bound `startHttpLoad` validates (10,000). */
export const MAX_HTTP_LOAD_STEP_CONNECTIONS = 10_000;

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number (got ${value})`);
  return value;
}

/** Factories of {@link Step} values. */
export const Step = Object.freeze({
  phase(name: string): Step {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new TypeError(`phase name must be kebab-case (got ${JSON.stringify(name)})`);
    return { kind: "phase", name };
  },
  /** @default timeoutMs 60000 */
  connectFleet(options: { timeoutMs?: number } = {}): Step {
    return { kind: "connect_fleet", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 60_000) };
  },
  messages(perSecond: number): Step {
    return { kind: "messages", perSecond: nonNegative("perSecond", perSecond) };
  },
  /** @default jitterMs 0 */
  hold(ms: number, options: { jitterMs?: number } = {}): Step {
    return { kind: "hold", ms: nonNegative("ms", ms), jitterMs: nonNegative("jitterMs", options.jitterMs ?? 0) };
  },
  /** @default background false */
  fault(fault: Fault, options: { background?: boolean } = {}): Step {
    return { kind: "fault", fault, background: options.background ?? false };
  },
  /** @default timeoutMs 30000 */
  awaitConnected(options: { timeoutMs?: number } = {}): Step {
    return { kind: "await_connected", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 30_000) };
  },
  /** @default timeoutMs 15000 */
  settle(options: { timeoutMs?: number } = {}): Step {
    return { kind: "settle", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 15_000) };
  },
  /** Writes `fieldsPerSession` random fields of state into every fleet session. @default fieldsPerSession 2 */
  writeSessionState(options: { fieldsPerSession?: number } = {}): Step {
    return { kind: "write_session_state", fieldsPerSession: nonNegative("fieldsPerSession", options.fieldsPerSession ?? 2) };
  },
  /** Looks up a seeded sample of live connections from every instance, and routes A → B for every instance pair. @default maxConnections 20 */
  probeLookups(options: { maxConnections?: number } = {}): Step {
    return { kind: "probe_lookups", maxConnections: nonNegative("maxConnections", options.maxConnections ?? 20) };
  },
  /** Probes `victims` fleet connections from another tenant. @default victims 3 */
  probeTenantIsolation(options: { victims?: number } = {}): Step {
    return { kind: "probe_tenant_isolation", victims: nonNegative("victims", options.victims ?? 3) };
  },
  /**
   * Runs during a background `Fault.partition`: lookups on the partitioned instances (`rounds` times), then waits
   * for the heal and for the registry to equal the live connections (at most `reconcileTimeoutMs`).
   * @default rounds 2, reconcileTimeoutMs 15000
   */
  probeDegradedMode(options: { rounds?: number; reconcileTimeoutMs?: number } = {}): Step {
    return { kind: "probe_degraded_mode", rounds: nonNegative("rounds", options.rounds ?? 2), reconcileTimeoutMs: nonNegative("reconcileTimeoutMs", options.reconcileTimeoutMs ?? 15_000) };
  },
  /**
   * Runs during a background `Fault.freezeInstance`: reads the frozen instance's records until the wake, then waits
   * for the registry to equal the live connections (at most `recoverTimeoutMs`). @default recoverTimeoutMs 15000
   */
  probeWake(options: { recoverTimeoutMs?: number } = {}): Step {
    return { kind: "probe_wake", recoverTimeoutMs: nonNegative("recoverTimeoutMs", options.recoverTimeoutMs ?? 15_000) };
  },
  /** Opens `count` probe connections and strands them: `cut` (half-open) or `kill` (their instance is SIGKILLed and stays down). */
  strandConnections(options: { count: number; how: "cut" | "kill" }): Step {
    if (options.how !== "cut" && options.how !== "kill") throw new TypeError(`how must be "cut" or "kill" (got ${JSON.stringify(options.how)})`);
    return { kind: "strand_connections", count: nonNegative("count", options.count), how: options.how };
  },
  /**
   * An HTTP flood of the lookup or route API, bounded in time and rate (whole requests per second across
   * instances); the fleet keeps running meanwhile. A step with too many failed requests fails the run.
   * @default connections 10, background false
   */
  httpLoad(options: { endpoint: HttpLoadEndpoint; durationMs: number; ratePerSecond: number; connections?: number; background?: boolean }): Step {
    if (options.endpoint !== "lookup" && options.endpoint !== "route") throw new TypeError(`endpoint must be "lookup" or "route" (got ${JSON.stringify(options.endpoint)})`);
    const durationMs = nonNegative("durationMs", options.durationMs);
    if (durationMs === 0 || durationMs > MAX_HTTP_LOAD_STEP_MS) throw new TypeError(`durationMs must be in (0, ${MAX_HTTP_LOAD_STEP_MS}] (got ${durationMs})`);
    const ratePerSecond = nonNegative("ratePerSecond", options.ratePerSecond);
    if (ratePerSecond === 0) throw new TypeError("ratePerSecond must be positive: an HTTP flood is always bounded in rate");
    // Whole requests per second, split over instances in whole shares that never sum above it.
    if (!Number.isInteger(ratePerSecond)) throw new TypeError(`ratePerSecond must be an integer (got ${ratePerSecond})`);
    const connections = options.connections ?? 10;
    if (!Number.isInteger(connections) || connections < 1 || connections > MAX_HTTP_LOAD_STEP_CONNECTIONS) {
      throw new TypeError(`connections must be an integer in [1, ${MAX_HTTP_LOAD_STEP_CONNECTIONS}] (got ${connections})`);
    }
    return { kind: "http_load", endpoint: options.endpoint, durationMs, connections, ratePerSecond, background: options.background ?? false };
  },
  /** Waits for every background fault and HTTP load started before this step to end. */
  awaitBackground(): Step {
    return { kind: "await_background" };
  },
  /** Records `schedule` (JSON data) on the run's timeline as an engine `schedule` event. */
  recordSchedule(schedule: Readonly<Record<string, unknown>>): Step {
    return { kind: "record_schedule", schedule };
  },
});

/** A step with every seeded choice made: concrete instance ids and hold times. */
export type PlannedStep =
  | Exclude<Step, { kind: "hold" } | { kind: "fault" }>
  | { kind: "hold"; ms: number }
  | { kind: "fault"; fault: Fault & { targets: string[] }; background: boolean };

/** One line describing a planned step. */
export function describeStep(step: PlannedStep): string {
  switch (step.kind) {
    case "phase":
      return `phase ${step.name}`;
    case "connect_fleet":
      return "connect fleet";
    case "messages":
      return `messages ${step.perSecond}/s`;
    case "hold":
      return `hold ${step.ms}ms`;
    case "fault":
      return `fault ${step.fault.kind} ${step.fault.targets.join(",")}${step.background ? " (background)" : ""}`;
    case "await_connected":
      return "await connected";
    case "settle":
      return "settle";
    case "write_session_state":
      return "write session state";
    case "probe_lookups":
      return "probe lookups";
    case "probe_tenant_isolation":
      return "probe tenant isolation";
    case "probe_degraded_mode":
      return "probe degraded mode";
    case "probe_wake":
      return "probe wake";
    case "strand_connections":
      return `strand ${step.count} connections (${step.how})`;
    case "http_load":
      return `http load ${step.endpoint} ${step.ratePerSecond}/s for ${step.durationMs}ms${step.background ? " (background)" : ""}`;
    case "await_background":
      return "await background faults and load";
    case "record_schedule":
      return "record schedule";
  }
}
