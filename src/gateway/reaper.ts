import type { ConnectionRegistry } from "../registry/connection-registry.js";
import type { ClusterBus } from "./cluster-bus.js";
import type { Failpoints } from "./failpoints.js";
import { Heartbeat } from "./heartbeat.js";
import type { GatewayMetrics } from "./metrics.js";

/** Unregisters in flight at once while reaping, so a big dead instance neither floods Redis nor takes long. */
const REAP_CONCURRENCY = 100;

/** What a {@link Reaper} needs. */
export interface ReaperOptions {
  instanceId: string;
  bus: ClusterBus;
  registry: ConnectionRegistry;
  /** TTL of this instance's liveness key, in ms. */
  livenessTtlMs: number;
  /** Period of the liveness refresh and the dead-instance scan, in ms. */
  intervalMs: number;
  metrics: GatewayMetrics;
  failpoints: Failpoints;
  log(event: string, fields: Record<string, unknown>): void;
}

/**
 * Keeps this instance's liveness key alive and removes the records of instances whose liveness key expired
 * (killed with -9, frozen, cut off). Claiming the dead instance (ZREM from the instance set) makes exactly one
 * survivor reap it. A record is only removed while it still names the dead instance, so connections that already
 * resumed elsewhere are untouched.
 *
 * The liveness refresh and the scan run on timers of their own, each every `intervalMs` (S): reaping a big dead
 * instance takes one Redis round trip per {@link REAP_CONCURRENCY} records, and a refresh waiting for it would let
 * this survivor's own liveness key (TTL L = 3S) lapse, so that another survivor reaped its live records.
 *
 * A survivor reaps only once it has had Redis for L without a break (since its start, its last reconnect or its last
 * failed liveness refresh). An outage of Redis that every instance shares lets every liveness key lapse while no
 * instance is dead; when it ends the instances come back one after another, each within its reconnect backoff, and
 * the first one back would otherwise take the others for dead and reap their live records. L is the liveness TTL
 * itself: a live instance rewrites its liveness within its backoff (at most 500 ms) and one refresh of Redis being
 * back.
 */
export class Reaper {
  readonly #options: ReaperOptions;
  readonly #liveness: Heartbeat;
  readonly #scan: Heartbeat;
  /**
   * `performance.now()` of the first successful liveness refresh since the start, the last reconnect or the last
   * failed refresh; `undefined` until then. Reaping waits until it lies L in the past.
   */
  #connectedSince: number | undefined;

  constructor(options: ReaperOptions) {
    this.#options = options;
    this.#liveness = new Heartbeat(options.intervalMs, () => this.refreshLiveness());
    this.#scan = new Heartbeat(options.intervalMs, () => this.reapDead());
  }

  /** Starts the periodic liveness refresh and scan. */
  start(): void {
    this.#liveness.start();
    this.#scan.start();
  }

  /** Stops. Idempotent. */
  stop(): void {
    this.#liveness.stop();
    this.#scan.stop();
  }

  /** Both, the refresh first: at start-up and on a Redis reconnect (which starts the wait of L before reaping again). */
  async tick(): Promise<void> {
    this.#connectedSince = undefined;
    await this.refreshLiveness();
    await this.reapDead();
  }

  /** Rewrites this instance's liveness key and its deadline in the instance set. */
  async refreshLiveness(): Promise<void> {
    try {
      await this.#options.bus.refreshLiveness(this.#options.livenessTtlMs);
    } catch (error) {
      this.#connectedSince = undefined;
      throw error;
    }
    this.#connectedSince ??= performance.now();
  }

  /**
   * Reaps every dead instance this survivor wins the claim of. Failpoint `no-reap`: nothing is reaped (dead
   * instances' records wait for their TTL; liveness is still refreshed).
   */
  async reapDead(): Promise<void> {
    const { bus, registry, instanceId, metrics, failpoints } = this.#options;
    if (failpoints.enabled("no-reap")) return;
    // Not yet L with Redis: an instance whose liveness lapsed may still be reconnecting. Failpoint
    // `reap-without-grace`: reaps at once.
    const since = this.#connectedSince;
    const waiting = since === undefined || performance.now() - since < this.#options.livenessTtlMs;
    if (waiting && !failpoints.enabled("reap-without-grace")) return;
    for (const dead of await bus.deadInstances()) {
      if (dead === instanceId) continue;
      if (!(await bus.claimDead(dead))) continue;
      let removed = 0;
      try {
        const records = await registry.listInstanceConnections(dead);
        const owned = records.filter((record) => record.instance_id === dead);
        for (let offset = 0; offset < owned.length; offset += REAP_CONCURRENCY) {
          const results = await Promise.all(
            owned
              .slice(offset, offset + REAP_CONCURRENCY)
              .map((record) => registry.unregister(record.tenant_id, record.session_id, record.websocket_id, { ifInstanceId: dead })),
          );
          removed += results.filter(Boolean).length;
        }
      } catch (error) {
        await bus.requeueDead(dead).catch(() => undefined);
        throw error;
      }
      metrics.reaped.inc({}, removed);
      metrics.reapedInstances.inc();
      this.#options.log("reaped", { instance_id: instanceId, dead_instance_id: dead, records: removed });
    }
  }
}
