/**
 * Events the probe steps record (source `probe`): what a probe asked the SUT through the wire protocol and the
 * HTTP API, and what it saw. The checks judge them later. Probes record them without `t` (the recorder stamps
 * the time) unless the time matters (`stranded`, `http_load`).
 */

/** An HTTP answer as a probe keeps it. */
export interface ProbeHttpAnswer {
  status: number;
  /** Parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
}

/** The connection a probe targets, named by its owner's ids. */
export interface ProbeVictim {
  websocket_id: string;
  session_id: string;
  tenant_id: string;
}

/** One HTTP lookup's answer in a {@link LookupProbeAnswer}. */
export interface LookupAnswer {
  status: number;
  record?: unknown;
  body?: unknown;
  /** ms; absent in runs recorded before lookups were timed. */
  latency_ms?: number;
}

/** One instance's answers to the two lookups of a connection (`lookup_probe`). */
export interface LookupProbeAnswer {
  /** Instance asked. */
  via: string;
  /** `GET /v1/connections/:websocket_id`: the record on 200, else the body; `latency_ms` the request's time. */
  connection: LookupAnswer;
  /** `GET /v1/sessions/:id/connections`: the connection's entry on 200, else the body; `latency_ms` the request's time. */
  session: LookupAnswer;
}

/** A session's state written through the HTTP API (`Step.writeSessionState()`). */
export interface SessionStateWrittenEvent {
  type: "session_state_written";
  session_id: string;
  tenant_id: string;
  /** Instance written through. */
  via: string;
  status: number;
  /** Field -> value written. */
  written: Record<string, string>;
  /** The answer's body. */
  answer: unknown;
}

/** A fleet connection looked up from every live instance and read from Redis (`Step.probeLookups()`). */
export interface LookupProbeEvent {
  type: "lookup_probe";
  client: string;
  websocket_id: string;
  session_id: string;
  /** Instance that holds the connection. */
  holder: string;
  /** Instances asked. */
  instances: string[];
  answers: LookupProbeAnswer[];
  /** The record's fields read straight from Redis, or `null` when there is none. */
  redis: Record<string, string> | null;
}

/** A route from one instance to a client held by another had no client to target. */
export interface RouteProbeSkippedEvent {
  type: "route_probe";
  via: string;
  holder: string;
  /** Why nothing was routed. */
  skipped: string;
}

/** A route over HTTP on `via` to a fleet client held by `holder`. */
export interface RouteProbeSentEvent {
  type: "route_probe";
  via: string;
  holder: string;
  client: string;
  websocket_id: string;
  session_id: string;
  status: number;
  /** The route's id from the answer, or `null`. */
  message_id: string | null;
  /** The answer's `delivered`, or `null`. */
  delivered: number | null;
  /** The answer's body when it was not 200. */
  body?: unknown;
}

/** `route_probe`: sent, or skipped (tell them apart with {@link isRouteProbeSent}). */
export type RouteProbeEvent = RouteProbeSkippedEvent | RouteProbeSentEvent;

/** Whether a `route_probe` routed a message (rather than being skipped). */
export function isRouteProbeSent<E extends RouteProbeEvent>(event: E): event is Extract<E, RouteProbeSentEvent> {
  return !("skipped" in event) || event.skipped === undefined;
}

/** `Step.probeDegradedMode()` found no partition in effect. */
export interface DegradedProbeSkippedEvent {
  type: "degraded_probe_skipped";
  reason: string;
}

/** A lookup on a partitioned instance. */
export interface DegradedLookupEvent {
  type: "degraded_lookup";
  /** The partition fault. */
  fault_id: string;
  via: string;
  kind: "connection" | "session";
  round: number;
  status: number;
  /** The error body's `code`, or `null`. */
  code: string | null;
  latency_ms: number;
  /** Whether the partition was still in effect when the answer came. */
  during: boolean;
  /** The request's own failure (timeout, refused). */
  error?: string;
}

/** How the registry came back after a partition healed. */
export interface DegradedReconcileEvent {
  type: "degraded_reconcile";
  fault_id: string;
  /** Epoch ms of the partition's `fault_end`. */
  healed_at: number;
  /** From the heal to a registry equal to the live connections, in ms; `null` when not within the timeout. */
  reconciled_after_ms: number | null;
  /** Last lookup status per partitioned instance. */
  lookup_status_by_instance: Record<string, number>;
  /** The last comparison of the registry with the live connections (counts), or `null`. */
  last: { live: number; records: number; ghosts: Record<string, number>; missing: Record<string, number>; misplaced: number } | null;
}

/** HTTP endpoint an `http_load` step floods. */
export type HttpLoadProbeEndpoint = "lookup" | "route";

/** An `http_load` step had nothing to flood. */
export interface HttpLoadSkippedEvent {
  type: "http_load_skipped";
  endpoint: HttpLoadProbeEndpoint;
  reason: string;
}

/** An HTTP flood's totals (`Step.httpLoad()`). */
export interface HttpLoadEvent {
  type: "http_load";
  /** Epoch ms of the end. */
  t: number;
  /** Epoch ms of the start. */
  started_at: number;
  endpoint: HttpLoadProbeEndpoint;
  tenant_id: string;
  sessions: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency_p99_max_ms: number;
  /** Per instance flooded: `instance` and the load driver's statistics. */
  by_instance: ({ instance: string } & Record<string, unknown>)[];
}

/** Fields of every `isolation_probe`. */
interface IsolationProbeBase {
  type: "isolation_probe";
  /** Instance the probe went through. */
  via: string;
  /** Whether the foreign request was answered differently from the same request for a missing id. */
  leaked: boolean;
  /** Whether the comparison proves nothing (the missing-id baseline was not the documented not-found answer). */
  inconclusive: boolean;
}

/** An HTTP request of the probe tenant for another tenant's data. */
export interface IsolationProbeHttpEvent extends IsolationProbeBase {
  channel: "http";
  kind: "connection_lookup" | "session_lookup" | "route_http" | "session_state_read" | "session_state_write";
  victim: ProbeVictim;
  answer: ProbeHttpAnswer;
  /** The same request for a missing id. */
  baseline: ProbeHttpAnswer;
  /** `route_http`: the route's id, when the answer carried one. */
  message_id?: string;
  /** `session_state_write`: the field written. */
  field?: string;
}

/** A WS route of the probe tenant into another tenant's session. */
export interface IsolationProbeWsRouteEvent extends IsolationProbeBase {
  channel: "ws";
  kind: "route_ws_websocket_id" | "route_ws_session";
  victim: ProbeVictim;
  /** The answer frame. */
  answer: Record<string, unknown>;
  /** The answer frame to the same route into a missing session. */
  baseline: Record<string, unknown>;
  /** The answer's `id`, or `null`. */
  message_id: unknown;
}

/** The probe tenant could not open a socket of its own: the WS routes were not tried. */
export interface IsolationProbeSocketEvent extends IsolationProbeBase {
  channel: "ws";
  kind: "probe_socket";
  /** The failed connect. */
  answer: unknown;
  error: string;
}

/** A connect into another tenant's session, or a resume of another tenant's websocket_id. */
export interface IsolationProbeConnectEvent extends IsolationProbeBase {
  channel: "ws";
  kind: "connect_foreign_session" | "resume_foreign_websocket_id";
  victim: ProbeVictim;
  /** `{welcome}` when the socket was welcomed, else how it was refused. */
  answer: Record<string, unknown>;
}

/** `isolation_probe`, discriminated by `kind` (and `channel`). */
export type IsolationProbeEvent = IsolationProbeHttpEvent | IsolationProbeWsRouteEvent | IsolationProbeSocketEvent | IsolationProbeConnectEvent;

/** A probe socket to be stranded could not connect. */
export interface StrandConnectFailedEvent {
  type: "strand_connect_failed";
  via: string;
  status: number | null;
  error: string | null;
}

/** How a stranded connection vanished: cut half-open, or its instance SIGKILLed for good. */
export type StrandHow = "cut" | "kill";

/** A probe connection made to vanish without unregistering (`Step.strandConnections()`). */
export interface StrandedEvent {
  type: "stranded";
  /** Epoch ms when it vanished. */
  t: number;
  how: StrandHow;
  websocket_id: string;
  session_id: string;
  instance_id: string;
}

/**
 * How the registry came back after an instance was frozen (`Fault.freezeInstance`, SIGSTOP then SIGCONT) and woke
 * (`Step.probeWake()`).
 */
export interface PauseWakeEvent {
  type: "pause_wake";
  fault_id: string;
  /** The frozen instances. */
  targets: string[];
  /** Epoch ms the freeze was in effect from (`fault_applied`). */
  paused_at: number;
  /** Epoch ms of the freeze's `fault_end` (the instances were resumed). */
  woke_at: number;
  /** Fleet sockets open on the targets when the freeze began. */
  held_at_pause: number;
  /** Fewest records naming a target read from Redis while frozen (0: all expired or reaped); `null` when no read succeeded. */
  min_records_while_frozen: number | null;
  /** The last read of the frozen instance's records before the wake (`at`: epoch ms when it began), or `null`. */
  last_frozen_read: { at: number; records: number } | null;
  /** From the wake to a registry equal to the live connections, one to one, in ms; `null` when not within the timeout. */
  recovered_after_ms: number | null;
  /**
   * From the wake to the start of the last read that still found the registry unequal, in ms (`null`: the first
   * read after the wake found it equal). Recovery took at least this long: reads are spaced, so
   * `recovered_after_ms` is an upper bound and this a lower bound.
   */
  unrecovered_read_after_ms: number | null;
  /** The last comparison of the registry with the live connections (counts per instance), or `null`. */
  last: { live: number; records: number; ghosts: Record<string, number>; missing: Record<string, number>; misplaced: number } | null;
}

/** `Step.probeWake()` found no freeze in effect. */
export interface PauseProbeSkippedEvent {
  type: "pause_probe_skipped";
  reason: string;
}

/** One probe event as a probe records it (the recorder adds `source: "probe"` and `t` when absent). */
export type ProbeEvent =
  | SessionStateWrittenEvent
  | LookupProbeEvent
  | RouteProbeEvent
  | DegradedProbeSkippedEvent
  | DegradedLookupEvent
  | DegradedReconcileEvent
  | HttpLoadSkippedEvent
  | HttpLoadEvent
  | IsolationProbeEvent
  | StrandConnectFailedEvent
  | StrandedEvent
  | PauseWakeEvent
  | PauseProbeSkippedEvent;
