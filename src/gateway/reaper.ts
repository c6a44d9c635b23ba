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
 * survivor reap it. A record is only
 * removed while it still names the dead instance, so connections that already resumed elsewhere are untouched.
 */
export class Reaper {
  readonly #options: ReaperOptions;
  readonly #loop: Heartbeat;

  constructor(options: ReaperOptions) {
    this.#options = options;
    this.#loop = new Heartbeat(options.intervalMs, () => this.tick());
  }

  /** Starts the periodic liveness refresh and scan. */
  start(): void {
    this.#loop.start();
  }

  /** Stops. Idempotent. */
  stop(): void {
    this.#loop.stop();
  }

  /**
   * One period: refresh liveness, then reap every dead instance this survivor wins the lock of. Failpoint
   * `no-reap`: liveness is refreshed, nothing is reaped (dead instances' records wait for their TTL).
   */
  async tick(): Promise<void> {
    const { bus, registry, instanceId, livenessTtlMs, metrics, failpoints } = this.#options;
    await bus.refreshLiveness(livenessTtlMs);
    if (failpoints.enabled("no-reap")) return;
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
