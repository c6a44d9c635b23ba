import type { ConnectionRecord, ConnectionRegistry } from "../registry/connection-registry.js";
import type { Failpoints } from "./failpoints.js";
import type { GatewayMetrics } from "./metrics.js";
import { WriteBatcher } from "./write-batcher.js";

/** What a {@link RegistryWriter} needs. */
export interface RegistryWriterOptions {
  instanceId: string;
  registry: ConnectionRegistry;
  /** TTL written with every record, in ms (`CONNECTION_TTL_MS`). */
  connectionTtlMs: number;
  metrics: GatewayMetrics;
  failpoints: Failpoints;
}

/**
 * The registry writes of connects and closes, group-committed through one {@link WriteBatcher}. Removals run in
 * the background and are tracked, so that a shutdown can wait for them before it releases the registry.
 */
export class RegistryWriter {
  readonly #options: RegistryWriterOptions;
  readonly #batcher = new WriteBatcher();
  readonly #pendingUnregisters = new Set<Promise<unknown>>();

  constructor(options: RegistryWriterOptions) {
    this.#options = options;
  }

  /** Writes a new connection's record with the next group. */
  register(record: ConnectionRecord): Promise<void> {
    const { registry, connectionTtlMs } = this.#options;
    return this.#batcher.run(() => registry.register(record, { ttlMs: connectionTtlMs }));
  }

  /**
   * Removes a record this instance owns, in the background; leaves it alone when another instance has taken it over.
   * Failpoint `no-unregister`: does nothing.
   */
  unregister(record: ConnectionRecord): void {
    const { registry, instanceId, metrics, failpoints } = this.#options;
    if (failpoints.enabled("no-unregister")) return;
    const task = (async () => {
      if (await this.#batcher.run(() => registry.unregister(record.tenant_id, record.session_id, record.websocket_id, { ifInstanceId: instanceId }))) {
        metrics.unregistrations.inc();
      }
    })().catch(() => undefined); // Redis down: the record expires with its TTL, as documented.
    this.#pendingUnregisters.add(task);
    void task.finally(() => this.#pendingUnregisters.delete(task));
  }

  /** Resolves once every removal started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pendingUnregisters]);
  }
}
