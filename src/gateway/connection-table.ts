import type { WebSocket } from "ws";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { CLOSE_CODES } from "./protocol.js";

/** Close-time frame budget before a slow consumer is cut off, in bytes. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

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
}

/**
 * The sockets this instance holds, by websocket id. The table is authoritative for local delivery: a socket is in
 * it from its welcome until it closes or is evicted by a resume of the same id (here or on another instance).
 */
export class ConnectionTable {
  readonly #byId = new Map<string, LocalConnection>();

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
    this.#byId.set(connection.record.websocket_id, connection);
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
    const counts = new Map<string, number>();
    for (const connection of this.#byId.values()) {
      counts.set(connection.record.tenant_id, (counts.get(connection.record.tenant_id) ?? 0) + 1);
    }
    return counts;
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
 * Hands `text` to an open socket. A consumer with more than {@link MAX_BUFFERED_BYTES} unsent is terminated
 * instead. Returns whether the frame was handed over.
 */
export function sendFrame(connection: LocalConnection, text: string): boolean {
  const { ws } = connection;
  if (ws.readyState !== ws.OPEN) return false;
  if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
    // A consumer this slow would make us hold unbounded memory for it.
    ws.terminate();
    return false;
  }
  ws.send(text);
  return true;
}
