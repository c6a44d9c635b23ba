import { sendFrame, type ConnectionTable } from "./connection-table.js";
import type { Failpoints } from "./failpoints.js";
import { CLOSE_CODES, reconnectFrame } from "./protocol.js";

/** How long sockets get to complete the close handshake before `terminate()`, in ms. */
export const CLOSE_GRACE_MS = 1_000;
/** Spread of drain reconnect hints, so clients do not all reconnect in the same millisecond, in ms. */
export const MAX_RETRY_AFTER_MS = 1_000;

/** How long closing sockets get to finish the close handshake: part of the drain budget when draining. */
export function closeGraceMs(drain: boolean, drainTimeoutMs: number): number {
  return drain ? Math.min(CLOSE_GRACE_MS, Math.floor(drainTimeoutMs / 4)) : CLOSE_GRACE_MS;
}

/**
 * The first half of a drain: sends every socket `{"type":"reconnect"}` with a spread `retry_after_ms`, then waits
 * until they have all left (resumed elsewhere) or the drain budget minus the close grace is spent. Failpoint
 * `no-drain-notice`: no notice is sent (the wait and the close that follows go on).
 */
export async function announceDrain(connections: ConnectionTable, drainTimeoutMs: number, failpoints?: Failpoints): Promise<void> {
  const spread = Math.min(MAX_RETRY_AFTER_MS, Math.floor(drainTimeoutMs / 4));
  if (failpoints?.enabled("no-drain-notice") !== true) {
    for (const connection of connections.values()) sendFrame(connection, reconnectFrame(Math.floor(Math.random() * (spread + 1))));
  }
  // The close handshake and the unregisters come out of the same budget, so that the whole drain ends within
  // DRAIN_TIMEOUT_MS (plus Redis round trips), as supervisors expect.
  const deadline = Date.now() + drainTimeoutMs - closeGraceMs(true, drainTimeoutMs);
  while (connections.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now()))));
  }
}

/**
 * Closes every socket still held, with 1012 after a drain or 1001 otherwise, and terminates those that do not
 * finish the close handshake within {@link closeGraceMs}. Resolves once all are closed.
 */
export async function closeConnections(connections: ConnectionTable, drain: boolean, drainTimeoutMs: number): Promise<void> {
  const closeCode = drain ? CLOSE_CODES.SERVICE_RESTART : CLOSE_CODES.GOING_AWAY;
  const graceMs = closeGraceMs(drain, drainTimeoutMs);
  await Promise.all(
    [...connections.values()].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.ws.readyState === connection.ws.CLOSED) return resolve();
          const timer = setTimeout(() => {
            connection.ws.terminate();
            resolve();
          }, graceMs);
          connection.ws.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          connection.ws.close(closeCode, drain ? "draining" : "going away");
        }),
    ),
  );
}
