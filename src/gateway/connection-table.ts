import type { WebSocket } from "ws";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { CLOSE_CODES } from "./protocol.js";

/** Default bound of a socket's unsent frames before it is shed as a slow consumer, in bytes (`MAX_BUFFERED_BYTES`). */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * How long a shed slow consumer gets to read its backlog and the close frame before the socket is destroyed, in ms.
 * A consumer that reads nothing never sees the close frame; this bounds how long its buffer is held.
 */
export const SLOW_CONSUMER_CLOSE_GRACE_MS = 1_000;

/** How a socket's send buffer is bounded (see {@link sendFrame}). */
export interface SendLimits {
  /** Unsent bytes a socket may hold before it is shed (`MAX_BUFFERED_BYTES`). */
  readonly maxBufferedBytes: number;
  /** Failpoint `unbounded-send-buffer`: never shed, buffer without bound. */
  readonly unbounded: boolean;
  /** Called once when a socket is shed (metrics). */
  readonly onShed?: (connection: LocalConnection) => void;
  /** Failpoint `gauge-counts-opens`: {@link ConnectionTable.countByTenant} counts every socket added, closed or not. */
  readonly countAdded?: boolean;
}

const DEFAULT_SEND_LIMITS: SendLimits = Object.freeze({ maxBufferedBytes: MAX_BUFFERED_BYTES, unbounded: false });

/** A WebSocket held by this instance. */
export interface LocalConnection {
  readonly ws: WebSocket;
  readonly record: ConnectionRecord;
  /** Answered the last ping. */
  alive: boolean;
  /** Frames since the last heartbeat: `last_activity_at` needs a refresh. */
  active: boolean;
  /** Rate-limit tokens left (refilled at `RATE_LIMIT_PER_SEC`, capped at the burst). */
  tokens: number;
  /** When `tokens` was last refilled, epoch ms. */
  refilledAt: number;
  /** Resumed on another socket: closing this one must not remove the record. */
  moved: boolean;
  /** Its send-buffer bound; set by {@link ConnectionTable.add}. @default the built-in {@link MAX_BUFFERED_BYTES} bound */
  sendLimits?: SendLimits;
}

/**
 * The sockets this instance holds, by websocket id. The table is authoritative for local delivery: a socket is in
 * it from its welcome until it closes or is evicted by a resume of the same id (here or on another instance).
 */
export class ConnectionTable {
  readonly #byId = new Map<string, LocalConnection>();
  readonly #limits: SendLimits;
  /** Sockets added per tenant, kept only under the failpoint `gauge-counts-opens`. */
  readonly #added?: Map<string, number>;

  /** @param limits the send-buffer bound of every socket added. @default {@link MAX_BUFFERED_BYTES}, shedding on */
  constructor(limits: SendLimits = DEFAULT_SEND_LIMITS) {
    this.#limits = limits;
    if (limits.countAdded) this.#added = new Map();
  }

  /** Number of sockets held. */
  get size(): number {
    return this.#byId.size;
  }

  /** The socket holding `websocketId`, if any. */
  get(websocketId: string): LocalConnection | undefined {
    return this.#byId.get(websocketId);
  }

  /** Every socket held (a live view: copy it before awaiting). */
  values(): IterableIterator<LocalConnection> {
    return this.#byId.values();
  }

  /** Adds a socket; an older socket of the same websocket id is evicted first. */
  add(connection: LocalConnection): void {
    const existing = this.#byId.get(connection.record.websocket_id);
    if (existing) this.evict(existing);
    connection.sendLimits ??= this.#limits;
    this.#byId.set(connection.record.websocket_id, connection);
    this.#added?.set(connection.record.tenant_id, (this.#added.get(connection.record.tenant_id) ?? 0) + 1);
  }

  /** Removes a closed socket, unless its id is already held by a newer socket. */
  remove(connection: LocalConnection): void {
    if (this.#byId.get(connection.record.websocket_id) === connection) this.#byId.delete(connection.record.websocket_id);
  }

  /** The connection was resumed elsewhere: mark it moved (its record stays), drop it and close it with 4000. */
  evict(connection: LocalConnection): void {
    connection.moved = true;
    this.remove(connection);
    connection.ws.close(CLOSE_CODES.RESUMED_ELSEWHERE, "RESUMED_ELSEWHERE");
  }

  /** Open sockets per tenant (the `traffic_cop_connections` gauge). */
  countByTenant(): Map<string, number> {
    if (this.#added) return new Map(this.#added);
    const counts = new Map<string, number>();
    for (const connection of this.#byId.values()) {
      counts.set(connection.record.tenant_id, (counts.get(connection.record.tenant_id) ?? 0) + 1);
    }
    return counts;
  }

  /** The largest send buffer of any held socket, in bytes (the `traffic_cop_send_buffer_max_bytes` gauge). */
  maxBufferedAmount(): number {
    let max = 0;
    for (const connection of this.#byId.values()) max = Math.max(max, connection.ws.bufferedAmount);
    return max;
  }

  /** Sends `text` to each held socket of `ids`; resolves how many were handed it. */
  sendTo(ids: readonly unknown[], text: string): number {
    let delivered = 0;
    for (const id of ids) {
      const connection = typeof id === "string" ? this.#byId.get(id) : undefined;
      if (connection && sendFrame(connection, text)) delivered++;
    }
    return delivered;
  }
}

/**
 * Hands `text` to an open socket. A socket holding more than its bound of unsent bytes
 * (`sendLimits.maxBufferedBytes`) is a slow consumer: it is shed instead, closed with 4008 `SLOW_CONSUMER` and
 * destroyed after {@link SLOW_CONSUMER_CLOSE_GRACE_MS} if it does not read that far; nothing more is queued for it,
 * so it never holds more than its bound plus one frame. Returns whether the frame was handed over.
 */
export function sendFrame(connection: LocalConnection, text: string): boolean {
  const { ws } = connection;
  if (ws.readyState !== ws.OPEN) return false;
  const limits = connection.sendLimits ?? DEFAULT_SEND_LIMITS;
  if (!limits.unbounded && ws.bufferedAmount > limits.maxBufferedBytes) {
    shed(connection, limits);
    return false;
  }
  ws.send(text);
  return true;
}

function shed(connection: LocalConnection, limits: SendLimits): void {
  const { ws } = connection;
  limits.onShed?.(connection);
  // close() queues the close frame behind the backlog, which a stalled reader never drains: the timer bounds how
  // long the buffer is held. The socket's close handler removes its record as for any close.
  ws.close(CLOSE_CODES.SLOW_CONSUMER, "SLOW_CONSUMER");
  setTimeout(() => ws.terminate(), SLOW_CONSUMER_CLOSE_GRACE_MS).unref();
}
