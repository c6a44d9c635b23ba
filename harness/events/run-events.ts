/**
 * The run's events: one union discriminated by `source` and `type`, each variant with its own typed fields, as
 * recorded in `run.json` (`RunResult.events`). Producers emit their own part without `source` (the fleet
 * `FleetEvent`, the fault runner `FaultEvent`, the runtime `RuntimeEvent`, probes `ProbeEvent`); the recorder
 * stamps the source, and writes phase and engine events itself. Readers narrow with `event.source === ... &&
 * event.type === ...`, a `switch`, or {@link isEventOf} / {@link eventsOf}, so a renamed field breaks the build
 * instead of silently blinding a check. `run-event-guard.ts` checks a parsed event against this union at run
 * time.
 *
 * This module holds types and tiny pure helpers only (no Node APIs), so the report page can share it.
 */
import type { FaultKind } from "../faults/fault.js";
import type { FleetEvent } from "../fleet/fleet-events.js";
import type { GatewayProcessState, ProcessExit } from "../runtime/gateway-process.js";
import type { ProbeEvent } from "./probe-events.js";

export type * from "../fleet/fleet-events.js";
export type * from "./probe-events.js";
export { CONFORMANCE_PROMISES, STATIC_CONFORMANCE_PROMISES, isRouteProbeSent } from "./probe-events.js";

/** An event without its time: what a producer hands over when the recorder or runtime stamps `t`. */
export type Untimed<E> = E extends unknown ? Omit<E, "t"> : never;

// ---------------------------------------------------------------------------------------------------------------
// Faults (source `fault`)

/** Fields of every fault event. */
export interface FaultEventBase {
  /** Epoch ms. */
  t: number;
  /** `f1`, `f2`, ... in schedule order. */
  fault_id: string;
  kind: FaultKind;
  /** Instance ids hit, in order; empty for Redis-wide faults. */
  targets: string[];
  description: string;
}

/** A fault begins (before any process signal or proxy API call). */
export interface FaultStartEvent extends FaultEventBase {
  type: "fault_start";
}

/** A proxy fault (partition, toxics) is in effect from here on. */
export interface FaultAppliedEvent extends FaultEventBase {
  type: "fault_applied";
}

/** A fault ended (healed, or ran to its end). */
export interface FaultEndEvent extends FaultEventBase {
  type: "fault_end";
  /** Whether the fault ran as asked (a SIGTERM drain that did not exit 0 is `false`). */
  ok: boolean;
  duration_ms: number;
  /**
   * Epoch ms when the fault began to be undone (the first proxy enabled or toxic removed, the first instance
   * reconnected, resumed or restarted on its true clock), for faults that are healed; `t` is when the heal of every
   * target was done. Some targets may have their link back from here on.
   */
  heal_started_at?: number;
  error?: { code?: string; message: string };
  /** What the fault did: `exits` per instance for process faults, `floods` for a connection flood. */
  detail?: Record<string, unknown>;
}

/** A fault interval event, as the fault runner emits it. */
export type FaultEvent = FaultStartEvent | FaultAppliedEvent | FaultEndEvent;

// ---------------------------------------------------------------------------------------------------------------
// Runtime (source `process` for process states, `runtime` for the rest)

/** A gateway process changed state. */
export interface ProcessStateEvent {
  t: number;
  type: "process_state";
  /** Instance id, e.g. `gw-2`. */
  target: string;
  state: GatewayProcessState;
  pid?: number;
  /** How the process ended (`stopped`, `exited`). */
  exit?: ProcessExit;
}

/** Redis was restarted (with data loss): once when killed, once when serving again. */
export interface RedisRestartEvent {
  t: number;
  type: "redis_restart";
  target: "redis";
  detail: { phase: "killed" } | { phase: "started"; downMs: number };
}

/** A Sentinel-watched Redis primary was killed and its replica promoted (`failoverRedis`). */
export interface RedisFailoverEvent {
  t: number;
  type: "redis_failover";
  target: "redis";
  /** `killed`/`promoted`: `host:port`; times in ms; lag in bytes of the replication stream (null: unreadable). */
  detail: { killed: string; promoted: string; replication_lag_bytes: number | null; promotion_ms: number; rejoin_ms: number };
}

/** What a started topology reports; the fields after `startMs` come from the containers runtime only. */
export interface TopologyStartedDetail {
  instances: number;
  redis: "standalone" | "cluster" | "sentinel";
  startMs: number;
  runtime?: "containers";
  /** Docker engine version. */
  docker?: string;
  /** Image of each role (gateway, redis, toxiproxy). */
  images?: Record<string, string>;
  /** `real`: Shopify's Toxiproxy image; `compatible`: the project's own server. */
  toxiproxy?: "real" | "compatible";
  /** Images built because they were missing. */
  built?: string[];
  /** Containers and networks of dead runs removed at start. */
  swept?: string[];
}

/** The topology is up. */
export interface TopologyStartedEvent {
  t: number;
  type: "topology_started";
  /** `redis`: the runtime's Redis mode (`standalone` or `cluster`); `startMs`: start-up time in ms. */
  detail: TopologyStartedDetail;
}

/** The topology is torn down. */
export interface TopologyStoppedEvent {
  t: number;
  type: "topology_stopped";
}

/** A topology event, as a runtime emits it. */
export type RuntimeEvent = ProcessStateEvent | RedisRestartEvent | RedisFailoverEvent | TopologyStartedEvent | TopologyStoppedEvent;

// ---------------------------------------------------------------------------------------------------------------
// Phases and the engine (written by the recorder and the engine directly)

/** A phase of the run started. */
export interface PhaseStartEvent {
  t: number;
  source: "phase";
  type: "phase_start";
  phase: string;
}

/** A phase of the run ended. */
export interface PhaseEndEvent {
  t: number;
  source: "phase";
  type: "phase_end";
  phase: string;
}

/** A phase event, as the recorder writes it. */
export type PhaseEvent = PhaseStartEvent | PhaseEndEvent;

/** The run began (after the start-up sweep). */
export interface RunStartEvent {
  t: number;
  source: "engine";
  type: "run_start";
  run_id: string;
  seed: number;
  /** Pids of orphans of crashed runs removed before this run. */
  swept_orphans: number[];
}

/** A planned step started. */
export interface StepStartEvent {
  t: number;
  source: "engine";
  type: "step_start";
  /** The step's index in the plan. */
  index: number;
  description: string;
}

/** A planned step ended. */
export interface StepEndEvent {
  t: number;
  source: "engine";
  type: "step_end";
  index: number;
  description: string;
  duration_ms: number;
}

/** The SUT failed a step (its remaining steps are skipped). */
export interface StepFailedEvent {
  t: number;
  source: "engine";
  type: "step_failed";
  index: number;
  description: string;
  code?: string;
}

/** A background HTTP load was rejected by a harness error. */
export interface HttpLoadRejectedEvent {
  t: number;
  source: "engine";
  type: "http_load_rejected";
  index: number;
  description: string;
  code?: string;
  message: string;
}

/** A check's verdict (the whole result is in `RunResult.checks`). */
export interface CheckResultEvent {
  t: number;
  source: "engine";
  type: "check_result";
  name: string;
  pass: boolean;
}

/** The fleet settled (every client connected, nothing pending). */
export interface SettledEvent {
  t: number;
  source: "engine";
  type: "settled";
}

/**
 * A schedule drawn from the seed (`chaos`: every fault, its parameters and planned offset, and the faults the
 * runtime cannot run, left out), recorded when its step runs so that a failing run can be replayed with its seed.
 */
export interface ScheduleEvent {
  t: number;
  source: "engine";
  type: "schedule";
  schedule: Record<string, unknown>;
}

/** An event the engine records. */
export type EngineEvent = RunStartEvent | StepStartEvent | StepEndEvent | StepFailedEvent | HttpLoadRejectedEvent | CheckResultEvent | SettledEvent | ScheduleEvent;

// ---------------------------------------------------------------------------------------------------------------
// The union

/** A probe event as a probe hands it over (`ProbeContext.record`): the recorder stamps `t` (now) unless given. */
export type ProbeEventInput = Untimed<ProbeEvent> & { t?: number };

/** Adds the recorder's `source` tag to each variant of a producer's union. */
export type Sourced<E, S extends string> = E extends unknown ? E & { source: S } : never;

/** A probe event as recorded: always timed. */
type TimedProbeEvent = ProbeEvent extends unknown ? ProbeEvent & { t: number } : never;

/** One timestamped event of the run (`t` in epoch ms), discriminated by `source` and `type`. */
export type RunEvent =
  | Sourced<FleetEvent, "fleet">
  | Sourced<FaultEvent, "fault">
  | Sourced<ProcessStateEvent, "process">
  | Sourced<RedisRestartEvent | RedisFailoverEvent | TopologyStartedEvent | TopologyStoppedEvent, "runtime">
  | PhaseEvent
  | EngineEvent
  | Sourced<TimedProbeEvent, "probe">;

/** Where an event came from. */
export type RunEventSource = RunEvent["source"];

/** The event types of each source. */
export type RunEventTypes = { [S in RunEventSource]: Extract<RunEvent, { source: S }>["type"] };

/** The event types of one source. */
export type RunEventType<S extends RunEventSource = RunEventSource> = RunEventTypes[S];

/** The variant(s) of one source and type. */
export type RunEventOf<S extends RunEventSource, T extends string> = Extract<RunEvent, { source: S; type: T }>;

/** Whether `event` is of `source` and `type` (narrows it to that variant). */
export function isEventOf<S extends RunEventSource, T extends RunEventType<S>>(event: RunEvent, source: S, type: T): event is RunEventOf<S, T> {
  return event.source === source && event.type === type;
}

/** The events of one source and type, in recorded order, narrowed to their variant. */
export function eventsOf<S extends RunEventSource, T extends RunEventType<S>>(events: readonly RunEvent[], source: S, type: T): RunEventOf<S, T>[] {
  return events.filter((event): event is RunEventOf<S, T> => isEventOf(event, source, type));
}

/**
 * When a fault's heal began: the first target may have its link, process or clock back from then on, while
 * `fault_end` comes only after the last. A run recorded before `heal_started_at` existed: `fault_end` itself.
 */
export function healStart(end: FaultEndEvent): number {
  return end.heal_started_at ?? end.t;
}
