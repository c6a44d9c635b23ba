import type { ConnectionRecord, ConnectionRegistry, RegisterOptions, RepointResult } from "../registry/connection-registry.js";
import type { Failpoints } from "./failpoints.js";
import type { GatewayMetrics } from "./metrics.js";
import { WriteBatcher } from "./write-batcher.js";

/**
 * Most removals that failed for want of Redis kept for a retry (about 1 KB each); beyond it the oldest are left to
 * their TTL, the documented fallback.
 */
const MAX_FAILED_REMOVALS = 100_000;

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
  /** Removals that failed (Redis unreachable), by websocket id, retried by {@link retryFailed}. */
  readonly #failed = new Map<string, ConnectionRecord>();
  /**
   * The write options of every registration and of every resume (one object each for all of them). `newId`: the
   * gateway mints the id of every new connection (a random UUID), so the registry need not look for an old record.
   */
  readonly #registerOptions: Readonly<RegisterOptions>;
  readonly #repointOptions: Readonly<RegisterOptions>;

  constructor(options: RegistryWriterOptions) {
    this.#options = options;
    this.#registerOptions = Object.freeze({ ttlMs: options.connectionTtlMs, newId: true });
    this.#repointOptions = Object.freeze({ ttlMs: options.connectionTtlMs });
  }

  /** Writes a new connection's record with the next group. */
  register(record: ConnectionRecord): Promise<void> {
    const options = this.#registerOptions;
    return this.#write(record, (registry) => registry.register(record, options));
  }

  /** Resumes a connection here: re-points its record (or writes it anew when it is gone) with the next group. */
  repoint(record: ConnectionRecord): Promise<RepointResult> {
    const options = this.#repointOptions;
    return this.#write(record, (registry) => registry.repoint(record, options));
  }

  #write<T>(record: ConnectionRecord, write: (registry: ConnectionRegistry) => Promise<T>): Promise<T> {
    // The id lives here (again): an older failed removal of it must not be retried (it would remove this record).
    this.#failed.delete(record.websocket_id);
    const { registry } = this.#options;
    return this.#batcher.run(() => write(registry));
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
    })().catch(() => {
      // Redis unreachable: kept for a retry once it answers again (the next heartbeat, or its reconnect), so that a
      // close during a partition does not leave a ghost until the TTL.
      if (this.#failed.size >= MAX_FAILED_REMOVALS) this.#failed.delete(this.#failed.keys().next().value!);
      this.#failed.set(record.websocket_id, record);
    });
    this.#pendingUnregisters.add(task);
    void task.finally(() => this.#pendingUnregisters.delete(task));
  }

  /** Retries every removal that failed so far (each fails again, and is kept again, while Redis is unreachable). */
  retryFailed(): void {
    const records = [...this.#failed.values()];
    this.#failed.clear();
    for (const record of records) this.unregister(record);
  }

  /** Removals waiting for a retry. */
  get failedRemovals(): number {
    return this.#failed.size;
  }

  /** Resolves once every removal started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pendingUnregisters]);
  }
}
