/**
 * Events the client fleet records. Every event is one JSON-serialisable object; workers send them to the parent in
 * batches, and the parent hands them to `ClientFleetOptions.onEvent` in the order each worker produced them
 * (so per client they are in order; across workers they are ordered only by `t`).
 */

/**
 * What happened:
 * - `connect_attempt`: a WebSocket upgrade was started (`attempt` 0 is the first connect, >= 1 a reconnect; a
 *   reconnect carries the `websocket_id` it resumes and the backoff `delay_ms` that preceded it).
 * - `welcome`: the gateway's welcome frame arrived (`latency_ms` = attempt -> welcome).
 * - `connect_error`: the attempt failed before a welcome (`status` = HTTP status of a refused upgrade, `reason` =
 *   socket error code such as `ECONNREFUSED`, or `close_code` when the socket closed before the welcome).
 * - `disconnect`: a welcomed socket closed (`close_code`, `reason`; `expected` when the fleet closed it itself).
 * - `reconnect_notice`: the gateway sent `{"type":"reconnect"}` (drain); `reason`, `retry_after_ms`.
 * - `message_sent`: a route frame was written (`message_id`, `to`).
 * - `message_acked`: its ack arrived (`delivered`, `partial` when that is a lower bound, `latency_ms` = sent -> ack).
 * - `message_received`: a routed message arrived at this client (`message_id`, `from`, `latency_ms` = sent -> received
 *   measured with the sender's timestamp carried in the payload; all workers share one clock).
 * - `message_error`: an error frame arrived (`code` from the gateway, `message_id` when it names one), or the fleet
 *   gave up on a pending route: code `FLEET_SOCKET_CLOSED` (the sender's socket closed before the ack) or
 *   `FLEET_STOPPED` (the fleet stopped before the ack).
 */
export type FleetEventType =
  | "connect_attempt"
  | "welcome"
  | "connect_error"
  | "disconnect"
  | "reconnect_notice"
  | "message_sent"
  | "message_acked"
  | "message_received"
  | "message_error";

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
]);

/** The `to` of a route frame, as sent (wire protocol v1). */
export type RouteTarget = { websocket_id: string } | { agent_type?: string; pillar?: string };

/** One recorded event. Only `t`, `type` and `client` are always present. */
export interface FleetEvent {
  /** Epoch milliseconds (`Date.now()` of the worker). */
  t: number;
  type: FleetEventType;
  /** Stable fleet client id, `c<index>` (e.g. `c17`): fixed by the seed and the index. */
  client: string;
  /** Index of the worker process that holds the client. */
  worker?: number;
  tenant_id?: string;
  session_id?: string;
  /** The connection's websocket_id: from the welcome, or the one a reconnect resumes. */
  websocket_id?: string;
  /** The gateway instance that sent the welcome (or the one the socket was on, for disconnects and notices). */
  instance_id?: string;
  /** Gateway base URL the client used, e.g. `ws://127.0.0.1:8080`. */
  target?: string;
  /** `welcome`: whether the gateway found the old record on resume. */
  resumed?: boolean;
  /** `connect_attempt`: 0 for the first connect, n for the n-th reconnect. */
  attempt?: number;
  /** `connect_attempt`: backoff delay waited before this attempt, in ms. */
  delay_ms?: number;
  /** `disconnect`, `connect_error`: WebSocket close code. */
  close_code?: number;
  /** `disconnect`: close reason; `connect_error`: socket error code; `reconnect_notice`: the notice's reason. */
  reason?: string;
  /**
   * `disconnect`: true when the fleet closed the socket itself (stop, or after moving to another instance), or when
   * the old socket of a move was evicted with 4000 `RESUMED_ELSEWHERE`.
   */
  expected?: boolean;
  /** `connect_error`: HTTP status of a refused upgrade (401, 403, 503, ...). */
  status?: number;
  /** `reconnect_notice`: the gateway's `retry_after_ms`. */
  retry_after_ms?: number;
  /** Route message id (unique per fleet run: `m<worker>-<n>`). */
  message_id?: string;
  /** `message_sent`: the route's target. */
  to?: RouteTarget;
  /** `message_acked`: number of sockets the gateway delivered to. */
  delivered?: number;
  /** `message_acked`: the gateway marked `delivered` as a lower bound (`"partial":true`). */
  partial?: boolean;
  /** `message_error`: the gateway's error code, or `FLEET_SOCKET_CLOSED` / `FLEET_STOPPED`. */
  code?: string;
  /** `message_error`: the gateway's error message. */
  message?: string;
  /** `welcome`: attempt -> welcome; `message_acked`: sent -> ack; `message_received`: sent -> received (ms). */
  latency_ms?: number;
  /** `message_received`: the sender's websocket_id as the gateway reports it. */
  from?: string;
}
