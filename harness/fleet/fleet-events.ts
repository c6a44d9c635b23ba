/**
 * Events the client fleet records. Every event is one JSON-serialisable object; workers send them to the parent in
 * batches, and the parent hands them to `ClientFleetOptions.onEvent` in the order each worker produced them
 * (so per client they are in order; across workers they are ordered only by `t`).
 *
 * `FleetEvent` is a union discriminated by `type`: each variant lists exactly the fields the fleet writes, so a
 * renamed field breaks the build of every reader. The recorder adds `source: "fleet"` (see
 * `harness/events/run-events.ts`).
 */

/** The `to` of a route frame, as sent (wire protocol v1). */
export type RouteTarget = { websocket_id: string } | { agent_type?: string; pillar?: string };

/** Fields of every fleet event. */
export interface FleetEventBase {
  /** Epoch milliseconds (`Date.now()` of the worker). */
  t: number;
  /** Stable fleet client id, `c<index>` (e.g. `c17`): fixed by the seed and the index. */
  client: string;
  /** Index of the worker process that holds the client. */
  worker: number;
}

/** A WebSocket upgrade was started. */
export interface FleetConnectAttemptEvent extends FleetEventBase {
  type: "connect_attempt";
  session_id: string;
  tenant_id: string;
  /** Gateway base URL the client used, e.g. `ws://127.0.0.1:8080`. */
  target: string;
  /** 0 for the first connect, n for the n-th reconnect. */
  attempt: number;
  /** The websocket_id a reconnect resumes. */
  websocket_id?: string;
  /** Reconnects: backoff delay waited before this attempt, in ms. */
  delay_ms?: number;
}

/** The gateway's welcome frame arrived. */
export interface FleetWelcomeEvent extends FleetEventBase {
  type: "welcome";
  session_id: string;
  tenant_id: string;
  target: string;
  /** Whether the gateway found the old record on resume. */
  resumed: boolean;
  /** Attempt -> welcome, in ms. */
  latency_ms: number;
  /** From the welcome (or the one the client resumed, when the welcome names none). */
  websocket_id?: string;
  /** The gateway instance that sent the welcome. */
  instance_id?: string;
  /** The client's `agent_type` (what route filters match; absent in runs recorded before it was added). */
  agent_type?: string;
  /** The client's `pillar` (as `agent_type`). */
  pillar?: string;
}

/** The attempt failed before a welcome. */
export interface FleetConnectErrorEvent extends FleetEventBase {
  type: "connect_error";
  session_id: string;
  target: string;
  /** Socket error code such as `ECONNREFUSED`, `HTTP_STATUS`, or `CLOSED_BEFORE_WELCOME`. */
  reason: string;
  /** HTTP status of a refused upgrade (401, 403, 503, ...). */
  status?: number;
  /**
   * The refusal's reason phrase when it is one bare token (the reference gateway's error code: `UNAUTHORIZED`,
   * `REGISTRY_UNAVAILABLE`, `DRAINING`, ...); raw `ws://` path only.
   */
  status_text?: string;
  /** WebSocket close code, when the socket closed before the welcome. */
  close_code?: number;
  /** The websocket_id the attempt tried to resume. */
  websocket_id?: string;
}

/** A welcomed socket closed. */
export interface FleetDisconnectEvent extends FleetEventBase {
  type: "disconnect";
  session_id: string;
  close_code: number;
  /** Close reason (at most 200 characters). */
  reason: string;
  /**
   * True when the fleet closed the socket itself (stop, or after moving to another instance), or when the old
   * socket of a move was evicted with 4000 `RESUMED_ELSEWHERE`.
   */
  expected: boolean;
  websocket_id?: string;
  /** The instance the socket was on. */
  instance_id?: string;
}

/** The gateway sent `{"type":"reconnect"}` (drain). */
export interface FleetReconnectNoticeEvent extends FleetEventBase {
  type: "reconnect_notice";
  session_id: string;
  /** The notice's reason, e.g. `draining`. */
  reason: string;
  /** The gateway's `retry_after_ms`. */
  retry_after_ms: number;
  websocket_id?: string;
  /** The instance that sent the notice. */
  instance_id?: string;
}

/** A route frame was written. */
export interface FleetMessageSentEvent extends FleetEventBase {
  type: "message_sent";
  /** The route's target session: the fleet routes within the sender's own session (its tenant is the sender's). */
  session_id: string;
  /** Route message id, unique per fleet run: `m<worker>-<n>`. */
  message_id: string;
  to: RouteTarget;
  /** The sender's websocket_id. */
  websocket_id?: string;
  /** The sender's instance. */
  instance_id?: string;
}

/** A route's ack arrived. */
export interface FleetMessageAckedEvent extends FleetEventBase {
  type: "message_acked";
  message_id: string;
  /** Number of sockets the gateway delivered to. */
  delivered: number;
  /** Present when the gateway marked `delivered` as a lower bound (`"partial":true`). */
  partial?: true;
  /** Sent -> ack, in ms (when the route was the fleet's own and still pending). */
  latency_ms?: number;
}

/**
 * An error frame arrived, or the fleet gave up on a pending route: code `FLEET_SOCKET_CLOSED` (the sender's
 * socket closed before the ack), `FLEET_STOPPED` (the fleet stopped before the ack) or `FLEET_INVALID_FRAME`.
 */
export interface FleetMessageErrorEvent extends FleetEventBase {
  type: "message_error";
  /** The gateway's error code, or one of the fleet's own above. */
  code: string;
  /** The error message (at most 200 characters). */
  message: string;
  /** The route the error names, when it names one. */
  message_id?: string;
  websocket_id?: string;
}

/** A routed message arrived at this client. */
export interface FleetMessageReceivedEvent extends FleetEventBase {
  type: "message_received";
  message_id: string;
  session_id: string;
  /** The sender's websocket_id as the gateway reports it. */
  from?: string;
  /** The receiving socket's websocket_id. */
  websocket_id?: string;
  /** Sent -> received, in ms, from the sender's timestamp in the payload (the fleet's own routes only). */
  latency_ms?: number;
}

/** One recorded fleet event, discriminated by `type`. */
export type FleetEvent =
  | FleetConnectAttemptEvent
  | FleetWelcomeEvent
  | FleetConnectErrorEvent
  | FleetDisconnectEvent
  | FleetReconnectNoticeEvent
  | FleetMessageSentEvent
  | FleetMessageAckedEvent
  | FleetMessageErrorEvent
  | FleetMessageReceivedEvent;

/** What happened: the fleet event's `type`. */
export type FleetEventType = FleetEvent["type"];

/** The fleet event variant of one `type`. */
export type FleetEventOf<T extends FleetEventType> = Extract<FleetEvent, { type: T }>;

/** All event types, in a stable order (for counters and reports). */
export const FLEET_EVENT_TYPES: readonly FleetEventType[] = Object.freeze([
  "connect_attempt",
  "welcome",
  "connect_error",
  "disconnect",
  "reconnect_notice",
  "message_sent",
  "message_acked",
  "message_received",
  "message_error",
] as const satisfies readonly FleetEventType[]);
