import type { ConnectionRegistry } from "../registry/connection-registry.js";
import type { ConnectionTable, LocalConnection } from "./connection-table.js";
import type { Failpoints } from "./failpoints.js";
import { fnv1a } from "./fnv1a.js";
import type { GatewayMetrics } from "./metrics.js";
import { CLOSE_CODES, toProtocolError } from "./protocol.js";

/**
 * Records refreshed by one registry heartbeat call (one script, one round trip; the calls of a pass go one after
 * another). Redis runs nothing else while a script runs: in a 20,000-client release run, where the instances start
 * together and so refresh in the same second, refreshes of 1,000 records ran 25-147 ms each (`SLOWLOG`), 15-17 of
 * them back to back every period, and every other instance's registrations, lookups and routes waited behind them.
 * A quarter of that keeps each wait short, for four times the round trips (20 a period for 5,000 sockets).
 */
export const REFRESH_BATCH = 250;
/** Lost records written again at once (as the reaper's unregisters): bounded so that a big instance does not flood Redis. */
const REREGISTER_CONCURRENCY = 100;
/** Failpoint `short-pong-deadline`: how long a pong may take before the socket is terminated, in ms. */
const SHORT_PONG_DEADLINE_MS = 100;
/**
 * Slices of a heartbeat period in the gateway: it ticks this many times a period, and each tick pings and judges one
 * slice of its connections. Pinging 4,000 sockets in one go (a write each) held a gateway's event loop and, since the
 * instances of a run start together, every client's at the same moment: in a 20,000-client release run all fleet
 * workers stalled for 0.5-1 s every period, and the ack p99 with them (1.2 s against a p50 of 30 ms). Ten slices of
 * a 10 s period are a tick a second. The records are still refreshed all together once a period, on one slice's
 * tick ({@link refreshSliceOf}): refreshing a slice per tick put ten Redis round trips into every period, each after
 * its tick's wait, which on a loaded machine stretched the period towards the TTL and let live records expire (a
 * cross-instance lookup answered 404 with H 300 ms and T 3 s).
 */
export const HEARTBEAT_SLICES = 10;

/**
 * The slice of the heartbeat period in which an instance refreshes its records: a hash of its instance id. The
 * instances of a deployment or a run start together, so with the refresh on every instance's first slice all of
 * them sent their refresh scripts to Redis in the same tenth of every period (each script holds Redis while it runs)
 * and the other instances' registrations, lookups and routes queued behind them; spread over the slices, they mostly
 * take turns. Stable for an instance id, so that a seeded run refreshes at the same moments every time. The gap
 * between a record's write and its first refresh stays at most a period whichever slice it is.
 */
export function refreshSliceOf(instanceId: string, slices: number): number {
  return fnv1a(instanceId) % slices;
}

/** What a {@link RecordRefresher} needs. */
export interface RecordRefresherOptions {
  instanceId: string;
  registry: ConnectionRegistry;
  connections: ConnectionTable;
  /** TTL written with every refresh, in ms (`CONNECTION_TTL_MS`). */
  connectionTtlMs: number;
  /**
   * Period of {@link RecordRefresher.tick}, in ms (`HEARTBEAT_INTERVAL_MS`): ticks more than two periods apart mean
   * the process itself stalled. @default connectionTtlMs / 2
   */
  heartbeatIntervalMs?: number;
  /**
   * Ticks per heartbeat period: each tick pings and judges the connections of one slice, every connection one tick a
   * period (its slice is fixed when the refresher first sees it), and the {@link refreshSlice}'s tick refreshes every
   * record.
   * The caller runs {@link RecordRefresher.tick} this many times a period. @default 1
   */
  slices?: number;
  /**
   * The slice whose tick refreshes every record (0 to `slices - 1`; the first tick is slice 0). The gateway passes
   * {@link refreshSliceOf} its instance id. @default 0
   */
  refreshSlice?: number;
  metrics: GatewayMetrics;
  failpoints: Failpoints;
}

/**
 * Keeps the local sockets and their records alive: every heartbeat period it terminates sockets that missed the
 * last pong, pings the rest, and refreshes the records' TTLs (and `last_activity_at` of active sockets) in batches;
 * records reported missing are written again (reconciliation), also on every Redis reconnect.
 */
export class RecordRefresher {
  readonly #options: RecordRefresherOptions;
  #reconciling?: Promise<number>;
  /** `Date.now()` of the previous tick, to tell a stall (a freeze, a long GC pause) from a normal period. */
  #lastTickAt?: number;
  /**
   * `Date.now()` when the previous tick's work (its TTL refresh included) ended: the next tick is due a period after
   * it, so the gap from it, not from the tick's start, tells a stall. A refresh slowed by a loaded Redis or proxy
   * is not a stall of this process, and taking it for one stopped half-open detection for as long as it lasted.
   */
  #lastTickEndAt?: number;
  /** Failpoint `no-rewake-reregister`: connections held across a stall, whose missing records are never written again. */
  readonly #abandoned = new Set<string>();
  /**
   * Connections whose record is being written again now, and when each was last written again (performance.now()).
   * A heartbeat's refresh and a reconciliation (Redis back up) run side by side and may both be told that the same
   * record is missing; only the first writes it (a second write was a second round trip and a second count of
   * `traffic_cop_reconciliations_total`). On one Redis connection the second pass always hears back while the first
   * one's write is in flight; on a Cluster, a heartbeat batch spans nodes and its reply may come after the other
   * pass's write of the same record is done, hence the time of the last write too.
   */
  readonly #reRegistering = new Set<LocalConnection>();
  readonly #reRegisteredAt = new WeakMap<LocalConnection, number>();
  /** Ticks started so far. */
  #ticks = 0;
  /** The first tick that may judge pongs again after a stall: every slice is pinged once before it is judged. */
  #judgeFrom = 0;
  /** Slice of each connection, handed out in turn as the refresher first sees them. */
  readonly #sliceOf = new WeakMap<LocalConnection, number>();
  #nextSlice = 0;

  constructor(options: RecordRefresherOptions) {
    this.#options = options;
  }

  /**
   * One slice of a heartbeat period (the whole period with one slice): terminates the slice's sockets that missed
   * the last pong and pings the rest; the refresh slice's tick also refreshes every local record. Failpoint
   * `no-heartbeat`: pings go on, records are not refreshed. Failpoint `no-rewake-reregister`: after a stall longer
   * than the TTL, the connections held across it are never written again.
   */
  async tick(): Promise<void> {
    // The tick runs from a timer, and Node runs due timers before it reads the sockets that became readable
    // meanwhile: a tick that comes late (a busy or starved process) would otherwise judge pongs that arrived in time
    // but are still unread. One turn of the event loop (setImmediate runs after the poll phase) reads them first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const now = Date.now();
    // Ticks further apart than a TTL: the process was stalled and its records may have expired or been reaped.
    if (this.#lastTickAt !== undefined && now - this.#lastTickAt > this.#options.connectionTtlMs && this.#options.failpoints.enabled("no-rewake-reregister")) {
      for (const connection of this.#options.connections.values()) this.#abandoned.add(connection.record.websocket_id);
    }
    // After a stall (SIGSTOP, a long GC pause) the pongs answered meanwhile may still be unread: the one read per
    // socket above takes at most 64 KB, and frames a client sent during the stall come before its pong. So a missed
    // pong proves nothing yet: ping again and judge a period later (every slice is pinged once after the stall
    // before any is judged). A stall is a gap of at least half a TTL (and two periods) since the previous tick
    // ended: a merely busy event loop, a tick a second late on loaded cores, or a slow refresh must not delay
    // half-open detection (`ttl-expiry` and `half-open-cleanup` bound it by 2H).
    const detectHalfOpen = !this.#options.failpoints.enabled("no-half-open-detect");
    const periodMs = this.#options.heartbeatIntervalMs ?? this.#options.connectionTtlMs / 2;
    const stallMs = Math.max(2 * periodMs, this.#options.connectionTtlMs / 2);
    const idleSince = this.#lastTickEndAt ?? this.#lastTickAt;
    const stalled = idleSince !== undefined && now - idleSince > stallMs;
    const shortPongDeadline = this.#options.failpoints.enabled("short-pong-deadline");
    this.#lastTickAt = now;
    const slices = this.#options.slices ?? 1;
    const tick = this.#ticks++;
    // After a stall, this slice and the next ones are pinged before any of them is judged.
    if (stalled) this.#judgeFrom = tick + slices;
    const judge = detectHalfOpen && tick >= this.#judgeFrom;
    const due = this.#due(tick % slices, slices);
    for (const connection of due) {
      if (!connection.alive && judge) {
        this.#options.metrics.halfOpen.inc();
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      try {
        connection.ws.ping();
      } catch {
        // Socket already closing; its close handler cleans up.
      }
      if (shortPongDeadline) {
        setTimeout(() => {
          if (!connection.alive) connection.ws.terminate();
        }, SHORT_PONG_DEADLINE_MS).unref();
      }
    }
    try {
      if (this.#options.failpoints.enabled("no-heartbeat") || tick % slices !== (this.#options.refreshSlice ?? 0) % slices) return;
      await this.#refresh([...this.#options.connections.values()]);
    } finally {
      this.#lastTickEndAt = Date.now();
    }
  }

  /**
   * Re-registers every live local connection whose record is missing (after an outage, a Redis restart or being
   * reaped); concurrent calls share one pass. Resolves with how many records were written again. Failpoint
   * `no-heartbeat` or `no-reconcile`: resolves 0 at once.
   */
  reconcile(): Promise<number> {
    if (this.#options.failpoints.enabled("no-heartbeat") || this.#options.failpoints.enabled("no-reconcile")) return Promise.resolve(0);
    this.#reconciling ??= this.#refresh([...this.#options.connections.values()]).finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  /** The connections of one slice (all of them with one slice). */
  #due(slice: number, slices: number): LocalConnection[] {
    const all = [...this.#options.connections.values()];
    if (slices === 1) return all;
    return all.filter((connection) => {
      let own = this.#sliceOf.get(connection);
      if (own === undefined) {
        own = this.#nextSlice;
        this.#nextSlice = (this.#nextSlice + 1) % slices;
        this.#sliceOf.set(connection, own);
      }
      return own === slice;
    });
  }

  /**
   * Refreshes the TTLs of these local records in batches and re-registers those reported missing. Resolves with how
   * many. Failpoint `no-reconcile`: records reported missing are left missing.
   */
  async #refresh(live: LocalConnection[]): Promise<number> {
    const { registry, connections, connectionTtlMs, metrics } = this.#options;
    const now = Date.now();
    let reRegistered = 0;
    for (let offset = 0; offset < live.length; offset += REFRESH_BATCH) {
      const batch = live.slice(offset, offset + REFRESH_BATCH);
      const entries = batch.map((connection) => {
        const entry = { session_id: connection.record.session_id, websocket_id: connection.record.websocket_id } as {
          session_id: string;
          websocket_id: string;
          last_activity_at?: number;
        };
        if (connection.active) {
          connection.active = false;
          connection.record.last_activity_at = now;
          entry.last_activity_at = now;
        }
        return entry;
      });
      let missing: string[];
      const askedAt = performance.now();
      try {
        const result = await registry.heartbeat(entries, { ttlMs: connectionTtlMs });
        metrics.heartbeats.inc({}, result.refreshed);
        metrics.heartbeatBatches.inc({ result: "ok" });
        missing = result.missing;
      } catch (error) {
        metrics.heartbeatBatches.inc({ result: "error" });
        throw error;
      }
      if (this.#options.failpoints.enabled("no-reconcile")) missing = [];
      const lost = missing.flatMap((websocketId) => {
        const connection = connections.get(websocketId);
        return connection && connection.ws.readyState === connection.ws.OPEN && !this.#abandoned.has(websocketId) ? [connection] : [];
      });
      // Many records go missing at once (a freeze, a Redis restart): written REREGISTER_CONCURRENCY at a time, so
      // that a woken instance with hundreds of sockets is whole again in a few round trips, not one per record.
      let failure: unknown;
      for (let start = 0; start < lost.length; start += REREGISTER_CONCURRENCY) {
        const results = await Promise.all(lost.slice(start, start + REREGISTER_CONCURRENCY).map((connection) => this.#reRegister(connection, now, askedAt)));
        reRegistered += results.filter((result) => result === true).length;
        failure ??= results.find((result) => result !== true && result !== false);
      }
      // One failed write must not cost the others their turn; the next heartbeat retries what is still missing.
      if (failure !== undefined) throw (failure as { error: unknown }).error;
    }
    return reRegistered;
  }

  /**
   * Writes one lost record again, reported missing by a heartbeat sent at `askedAt`: `true` when written, `false`
   * when the socket was closed instead or another pass is writing it or wrote it since that heartbeat, else the error.
   */
  async #reRegister(connection: LocalConnection, now: number, askedAt: number): Promise<boolean | { error: unknown }> {
    const { registry, connectionTtlMs, metrics, instanceId } = this.#options;
    if (this.#reRegistering.has(connection) || (this.#reRegisteredAt.get(connection) ?? -Infinity) >= askedAt) return false;
    this.#reRegistering.add(connection);
    try {
      await registry.register({ ...connection.record, instance_id: instanceId, last_activity_at: now }, { ttlMs: connectionTtlMs });
      this.#reRegisteredAt.set(connection, performance.now());
      metrics.registrations.inc({ kind: "reconcile" });
      metrics.reconciliations.inc();
      return true;
    } catch (error) {
      if (toProtocolError(error).code === "FORBIDDEN") {
        // The session was claimed by another tenant while our record was gone; this socket cannot keep it.
        connection.ws.close(CLOSE_CODES.POLICY, "FORBIDDEN");
        return false;
      }
      return { error };
    } finally {
      this.#reRegistering.delete(connection);
    }
  }
}
