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
  /**
   * With `Step.probeDegradedMode({ noReapForMs })`: records every instance reaped from the probe's start until
   * `no_reap_for_ms` after the heal (`traffic_cop_reaped_records_total`; `null` when an instance does not say).
   */
  reaped_records?: number | null;
  no_reap_for_ms?: number;
  /** The last comparison of the registry with the live connections (counts), or `null`. */
  last: { live: number; records: number; ghosts: Record<string, number>; missing: Record<string, number>; misplaced: number } | null;
}

/** Registry counts against the fleet's live connections (`missing`/`ghosts`: the worst key family). */
export interface RegistryCounts {
  live: number;
  records: number;
  missing: number;
  ghosts: number;
  misplaced: number;
  duplicates: number;
}

/** How the registry came back to the live connections after a Redis-wide fault (`Step.probeConvergence()`). */
export interface RegistryConvergenceEvent {
  type: "registry_convergence";
  /** The fault measured from (the latest ended before the step), or `null` when none had ended. */
  fault_id: string | null;
  fault_kind: string | null;
  /** Epoch ms of that fault's `fault_end`. */
  fault_end: number | null;
  /** The first comparison after the fault: `missing` = records lost, `ghosts` = records left behind. */
  first: RegistryCounts | null;
  /** From the fault's end to a registry equal to the live connections, ms; `null` when not within the timeout. */
  converged_after_ms: number | null;
  last: RegistryCounts | null;
  /** Last lookup status per live instance (200 once it serves the registry again). */
  lookup_status_by_instance: Record<string, number>;
  /** Records in the last read not refreshed by their holder since the fault ended. */
  unrefreshed_records: number;
  reason?: string;
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
  /**
   * `local` when `via` is the instance holding the victim's connection, `remote` when it is another one; absent
   * in runs recorded before paths were probed.
   */
  path?: "local" | "remote";
  /**
   * How many times the attempt (with its missing-id baseline) was made again because an answer was
   * `REGISTRY_UNAVAILABLE` (harness/probes/probe-io.ts, askWhileUnavailable); absent when none was.
   */
  retries?: number;
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

/** The record of a connection stranded by a kill was first seen gone from the registry (`strandConnections` watch). */
export interface StrandedGoneEvent {
  type: "stranded_gone";
  /** Epoch ms of the registry read that no longer held it. */
  t: number;
  how: "kill";
  websocket_id: string;
  session_id: string;
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
 * The promises of docs/protocol.md the conformance probe (`Step.probeConformance()`) checks, each a named
 * sub-result of `protocol-conformance`.
 */
export type ConformancePromise =
  | "welcome-after-write"
  | "sender-excluded"
  | "resume-keeps-id"
  | "nbf-refused"
  | "bad-tokens-refused"
  | "bad-frames-answered"
  | "tenant-isolation"
  | "readyz-reflects-redis"
  | "registry-unavailable-fails-fast"
  | "drain-notice";

/** Every {@link ConformancePromise}, in the order the probe runs them. */
export const CONFORMANCE_PROMISES: readonly ConformancePromise[] = Object.freeze([
  "welcome-after-write",
  "sender-excluded",
  "resume-keeps-id",
  "nbf-refused",
  "bad-tokens-refused",
  "bad-frames-answered",
  "tenant-isolation",
  "readyz-reflects-redis",
  "registry-unavailable-fails-fast",
  "drain-notice",
]);

/** The promises probed while the system is healthy (no fault needed): `Step.probeConformance()`'s default. */
export const STATIC_CONFORMANCE_PROMISES: readonly ConformancePromise[] = Object.freeze(CONFORMANCE_PROMISES.slice(0, 7));

/**
 * Where the target of a conformance attempt was: held by the instance the request reached (`local`), by another
 * (`remote`), or no target at all (`none`: tokens, readiness, drain).
 */
export type ConformancePath = "local" | "remote" | "none";

/** The promises one `Step.probeConformance()` set out to probe, and the instances it saw. */
export interface ConformancePlanEvent {
  type: "conformance_plan";
  promises: ConformancePromise[];
  instances: string[];
}

/** One conformance attempt and what the SUT answered. */
export interface ConformanceProbeEvent {
  type: "conformance_probe";
  promise: ConformancePromise;
  /** What was tried, e.g. `http_lookup_connection`, `ws_route_session`, `upgrade`. */
  form: string;
  path: ConformancePath;
  /** Instance the request reached. */
  via: string;
  /** Instance holding the target, or `null`. */
  holder: string | null;
  /** The probe's verdict on the answer itself (status, code, frames); the check adds the time bounds. */
  ok: boolean;
  /** The promised answer, in words. */
  expected: string;
  /** What came back. */
  observed: Record<string, unknown>;
  /** Request sent -> answer, in ms (fail-fast attempts). */
  latency_ms?: number;
  /** Epoch ms the request was sent (fail-fast attempts): with `latency_ms`, the span the harness waited. */
  sent_at?: number;
  /** The partition fault an attempt ran in. */
  fault_id?: string;
  /** From sending the request to the partition's heal, in ms (`null`: not healed when recorded). */
  sent_before_heal_ms?: number | null;
}

/** A promise the step set out to probe could not be (no partition, nobody to target, a witness never drained). */
export interface ConformanceSkippedEvent {
  type: "conformance_skipped";
  promise: ConformancePromise;
  reason: string;
}

/** How a departing client leaves (`Step.departClients()`): as a real client does, in each way a gateway can see. */
export type DepartureKind =
  /** A close frame (1000), then the TCP close. */
  | "close"
  /** The socket destroyed without a close frame (`ws.terminate()`): the kernel sends FIN (RST with unread data). */
  | "terminate"
  /** The client's process SIGKILLed: the kernel closes its sockets (FIN or RST). */
  | "kill";

/** A client left for good (`Step.departClients()`), one event per client; `t` is when its departure began. */
export interface DepartureEvent {
  type: "departure";
  t: number;
  kind: DepartureKind;
  client: string;
  websocket_id: string;
  session_id: string;
  tenant_id: string;
  instance_id: string;
  agent_type: string;
  pillar: string;
  /** Epoch ms of the client's welcome. */
  opened_at: number;
}

/** What Redis still held of a departed connection, polled from its departure on (`Step.departClients()`). */
export interface DepartureCleanupEvent {
  type: "departure_cleanup";
  kind: DepartureKind;
  websocket_id: string;
  session_id: string;
  instance_id: string;
  /** Epoch ms of the departure. */
  departed_at: number;
  /** Departure → nothing of the connection left in Redis (record, reverse key, index members), ms; `null`: something was still there when the polling ended. */
  gone_after_ms: number | null;
  /** What was still there when the polling ended (`record`, `reverse`, `session_index`, `agent_type_index`, ...). */
  lingering: string[];
  /** How long Redis was polled, ms. */
  observed_ms: number;
}

/** `Step.departClients()` could not connect its clients: nothing departed. */
export interface DepartureFailedEvent {
  type: "departure_failed";
  kind: DepartureKind;
  count: number;
  reason: string;
}

/** A connection's traces in Redis that differ from the history past (or within) their bound. */
export interface AuditDivergence {
  websocket_id: string;
  /** `ghost`: in Redis, not live; `missing`: live, not (fully) in Redis. */
  kind: "ghost" | "missing";
  /** The families that differ (`record`, `reverse`, `session_index`, ...). */
  families: string[];
  /** Since the connection's last change (welcome, close, departure), ms. */
  since_ms: number;
  /** Divergence allowed after that change, ms. */
  bound_ms: number;
  /** Why that bound (the kind of change). */
  why: string;
}

/** A key whose TTL breaks its bound (`key-ttl`). */
export interface KeyTtlViolation {
  key: string;
  kind: string;
  /** PTTL: -1 = no TTL. */
  ttl_ms: number;
  bound_ms: number;
}

/** One continuous audit of Redis against the history (harness/recorder/state-auditor.ts), one per sample. */
export interface StateAuditEvent {
  type: "state_audit";
  /** Epoch ms when the read of Redis began. */
  t: number;
  /** How long the read took, ms. */
  read_ms: number;
  /** Keys under the prefix. */
  keys: number;
  /** websocket ids the history knows (fleet clients and departed clients). */
  audited: number;
  /** Of those, live at the read. */
  live: number;
  /** Connections whose Redis traces differ from the history past their bound. */
  divergent: number;
  /** Connections whose traces differ within their bound (a change in flight, a fault window). */
  transient: number;
  /** Records of connections the history does not know (probe sockets, floods): not judged. */
  unattributed: number;
  /** Keys found whose read failed in this pass (a timed-out command): what they would show is not judged in it. */
  unread: number;
  /** The first divergences past their bound. */
  divergences: AuditDivergence[];
  keys_without_ttl: number;
  keys_over_ttl_bound: number;
  /** The first TTL violations. */
  ttl_violations: KeyTtlViolation[];
}

/** An audit read of Redis failed (Redis unreachable to the harness): that sample judges nothing. */
export interface StateAuditFailedEvent {
  type: "state_audit_failed";
  error: string;
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
  /**
   * Fewest records naming a target read from Redis while frozen (0: all expired or reaped), of the reads answered
   * before the first target began to be resumed (`fault_end.heal_started_at`); `null` when no such read succeeded.
   */
  min_records_while_frozen: number | null;
  /** The last of those reads (`at`: epoch ms when it began), or `null`. */
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

/**
 * The harness's own event loop ran nothing for `duration_ms` from `from` (harness/recorder/loop-stalls.ts).
 */
export interface HarnessStallEvent {
  type: "harness_stall";
  /** Epoch ms the stall began. */
  from: number;
  duration_ms: number;
  /**
   * Whether the fleet's sockets pass through the process that stalled (a fleet worker, or the local runtime's proxy
   * server with client proxies): then no frame between the fleet and the gateways moved during the stall, pongs
   * included.
   */
  client_path: boolean;
  /** The fleet worker that stalled (its clients' pongs waited); absent: the harness process or the proxy server. */
  worker?: number;
  /**
   * The local runtime's proxy server stalled (its own process): nothing passed its proxies, the gateways' Redis links
   * included. Absent: the harness process (its recorder and probes) or a fleet worker.
   */
  proxy?: boolean;
}

/** One probe event as a probe records it (the recorder adds `source: "probe"` and `t` when absent). */
export type ProbeEvent =
  | SessionStateWrittenEvent
  | LookupProbeEvent
  | RouteProbeEvent
  | DegradedProbeSkippedEvent
  | DegradedLookupEvent
  | DegradedReconcileEvent
  | RegistryConvergenceEvent
  | HttpLoadSkippedEvent
  | HttpLoadEvent
  | IsolationProbeEvent
  | StrandConnectFailedEvent
  | StrandedEvent
  | ConformancePlanEvent
  | ConformanceProbeEvent
  | ConformanceSkippedEvent
  | StrandedGoneEvent
  | DepartureEvent
  | DepartureCleanupEvent
  | DepartureFailedEvent
  | StateAuditEvent
  | StateAuditFailedEvent
  | PauseWakeEvent
  | PauseProbeSkippedEvent
  | HarnessStallEvent;
