import { CONFORMANCE_PROMISES, STATIC_CONFORMANCE_PROMISES, type ConformancePromise } from "../events/probe-events.js";
import type { DepartureKind } from "../events/probe-events.js";
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
  | { kind: "probe_degraded_mode"; rounds: number; reconcileTimeoutMs: number; noReapForMs: number }
  /**
   * Probes promises of docs/protocol.md from every instance on the local and remote path (judged by
   * `protocol-conformance`); the partition and drain promises watch for their fault in the background.
   */
  | { kind: "probe_conformance"; promises: ConformancePromise[]; victims: number }
  /** After a Redis-wide fault: how far the registry is from the live connections, and how soon it equals them (judged by `convergence`). */
  | { kind: "probe_convergence"; timeoutMs: number }
  /**
   * Watches Redis during a background `Fault.freezeInstance`, then how the registry recovers after the wake
   * (judged by `pause-recovery`).
   */
  | { kind: "probe_wake"; recoverTimeoutMs: number }
  /** Opens probe connections and makes them vanish without unregistering (judged by `ttl-expiry`). */
  | { kind: "strand_connections"; count: number; how: "cut" | "kill" }
  /**
   * Connects `count` clients of their own, then makes them leave for good the way `departure` says, and polls
   * Redis for their traces for at most `observeMs` (judged by `prompt-cleanup` and `state-audit`).
   */
  | { kind: "depart_clients"; departure: DepartureKind; count: number; observeMs: number }
  /**
   * Floods the HTTP lookup or route API of every live instance with autocannon for `durationMs`, at most
   * `ratePerSecond` requests per second across instances, over one fleet tenant's sessions; records `http_load`.
   * Waits for its end unless `background`. Fails (a `step: …` result) when skipped, when its load cannot run, or
   * when more than 1% of its requests fail (any, below 100 requests).
   */
  | { kind: "http_load"; endpoint: HttpLoadEndpoint; durationMs: number; connections: number; ratePerSecond: number; background: boolean }
  /** Waits until every background fault and load started so far has ended. */
  | { kind: "await_background" }
  /**
   * During a background `Fault.clockSkew`: waits until it is applied and the fleet is connected, then looks every
   * live fleet connection up from every instance for `observeMs` (`probeClockSkew`); a miss, or a live record reaped
   * or re-registered meanwhile, fails the run as a `step: probe clock skew` result.
   */
  | { kind: "probe_clock_skew"; observeMs: number; endSkew: boolean }
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
   * for the heal and for the registry to equal the live connections (at most `reconcileTimeoutMs`). With
   * `noReapForMs` (for an outage every instance met before any liveness lapsed: a staggered `Fault.partition`), no
   * instance may reap another from the probe's start until that long after the heal (the SUT's
   * `traffic_cop_reaped_records_total`).
   * @default rounds 2, reconcileTimeoutMs 15000, noReapForMs 0 (not judged)
   */
  probeDegradedMode(options: { rounds?: number; reconcileTimeoutMs?: number; noReapForMs?: number } = {}): Step {
    return {
      kind: "probe_degraded_mode",
      rounds: nonNegative("rounds", options.rounds ?? 2),
      reconcileTimeoutMs: nonNegative("reconcileTimeoutMs", options.reconcileTimeoutMs ?? 15_000),
      noReapForMs: nonNegative("noReapForMs", options.noReapForMs ?? 0),
    };
  },
  /**
   * Probes `promises` (default: those that need no fault: welcome-after-write, sender-excluded, resume-keeps-id,
   * nbf-refused, bad-tokens-refused, bad-frames-answered, tenant-isolation with `victims` victims). `readyz-reflects-redis` and
   * `registry-unavailable-fails-fast` need a background `Fault.partition` right after this step; `drain-notice` a
   * SIGTERM drain (stop, restart or rolling restart with mode `stop`) later in the run.
   * @default victims 2
   */
  probeConformance(options: { promises?: readonly ConformancePromise[]; victims?: number } = {}): Step {
    const promises = options.promises ?? STATIC_CONFORMANCE_PROMISES;
    const unknown = promises.filter((p) => !CONFORMANCE_PROMISES.includes(p));
    if (promises.length === 0 || unknown.length > 0) throw new TypeError(`promises must be a non-empty list of ${CONFORMANCE_PROMISES.join(", ")} (got ${JSON.stringify(promises)})`);
    return { kind: "probe_conformance", promises: [...promises], victims: nonNegative("victims", options.victims ?? 2) };
  },
  /**
   * Right after a Redis-wide fault (a failover): compares the registry with the live connections (records lost,
   * left behind), then polls until they are equal, at most `timeoutMs`. @default timeoutMs 30000
   */
  probeConvergence(options: { timeoutMs?: number } = {}): Step {
    return { kind: "probe_convergence", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 30_000) };
  },
  /**
   * During a background `Fault.clockSkew`: every live fleet connection looked up from every instance for `observeMs`;
   * with `endSkew`, then heals the skew at once (its `durationMs` is then only the longest it may hold, sized for a
   * slow reconnect). @default endSkew false
   */
  probeClockSkew(options: { observeMs: number; endSkew?: boolean }): Step {
    return { kind: "probe_clock_skew", observeMs: nonNegative("observeMs", options.observeMs), endSkew: options.endSkew ?? false };
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
   * `count` clients (their own tenant and sessions, in a worker process of their own) connect, then leave for good:
   * `close` (close frame), `terminate` (socket destroyed without a close frame) or `kill` (their process
   * SIGKILLed). Redis is then polled for what is left of them for at most `observeMs` (it must stay below the
   * connection TTL, or a TTL expiry could pass for a cleanup, and above `prompt-cleanup`'s 2 s bound, or a late
   * cleanup could not be told from a missing one). @default observeMs 3000
   */
  departClients(options: { kind: DepartureKind; count: number; observeMs?: number }): Step {
    if (options.kind !== "close" && options.kind !== "terminate" && options.kind !== "kill") {
      throw new TypeError(`kind must be "close", "terminate" or "kill" (got ${JSON.stringify(options.kind)})`);
    }
    const count = nonNegative("count", options.count);
    if (!Number.isInteger(count) || count < 1 || count > 1_000) throw new TypeError(`count must be an integer in [1, 1000] (got ${count})`);
    const observeMs = nonNegative("observeMs", options.observeMs ?? 3_000);
    if (observeMs === 0 || observeMs > 60_000) throw new TypeError(`observeMs must be in (0, 60000] (got ${observeMs})`);
    return { kind: "depart_clients", departure: options.kind, count, observeMs };
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
    case "probe_conformance":
      return `probe conformance (${step.promises.join(", ")})`;
    case "probe_convergence":
      return "probe registry convergence";
    case "probe_wake":
      return "probe wake";
    case "strand_connections":
      return `strand ${step.count} connections (${step.how})`;
    case "probe_clock_skew":
      return "probe clock skew";
    case "depart_clients":
      return `depart ${step.count} clients (${step.departure})`;
    case "http_load":
      return `http load ${step.endpoint} ${step.ratePerSecond}/s for ${step.durationMs}ms${step.background ? " (background)" : ""}`;
    case "await_background":
      return "await background faults and load";
    case "record_schedule":
      return "record schedule";
  }
}
