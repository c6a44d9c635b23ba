import { Cluster } from "ioredis";
import type { RegistryKeys } from "../registry/keys.js";
import { toRegistryError, type RedisClient } from "../registry/redis-client.js";
import { parseBusMessage, type BusMessage, type ClusterBus, type ClusterBusEvents } from "./cluster-bus.js";

/** How long `start()` waits for the first Redis connection before listening anyway (readyz stays 503 until it comes). */
const FIRST_CONNECT_WAIT_MS = 5_000;

/**
 * The {@link ClusterBus} on Redis: a subscriber connection on this instance's channel (`P:instance:I:messages`,
 * re-subscribed after every reconnect), the liveness key `P:instance:I:alive` (a string with TTL) and the sorted set
 * `P:instances:alive` of instances scored by their liveness deadline, from which survivors find the dead.
 */
export class RedisClusterBus implements ClusterBus {
  readonly #instanceId: string;
  readonly #keys: RegistryKeys;
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #now: () => number;
  #events?: ClusterBusEvents;
  #up = false;
  #livenessOk = true;
  #closed = false;

  /**
   * @param client command connection (shared with the registry).
   * @param subscriber a second connection, used only for SUBSCRIBE.
   * @param now the clock of liveness deadlines, epoch ms: the same one for every instance (the gateway passes the
   *   Redis-anchored `RedisTimeClock`). @default Date.now
   */
  constructor(instanceId: string, keys: RegistryKeys, client: RedisClient, subscriber: RedisClient, now: () => number = Date.now) {
    this.#now = now;
    this.#instanceId = instanceId;
    this.#keys = keys;
    this.#client = client;
    this.#subscriber = subscriber;
    this.#channel = keys.instanceChannel(instanceId);
  }

  /**
   * Both connections up, this instance's channel subscribed again since the last one was lost, and the last liveness
   * refresh done. ioredis calls a reconnected subscriber ready before its SUBSCRIBE is answered, and a route
   * published to this instance meanwhile reaches nobody (`delivered: 0`).
   */
  get healthy(): boolean {
    return !this.#closed && this.#up && this.#client.status === "ready" && this.#subscriber.status === "ready" && this.#livenessOk;
  }

  async start(events: ClusterBusEvents): Promise<void> {
    this.#events = events;
    this.#subscriber.on("message", (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      const message = parseBusMessage(text);
      if (message) events.onMessage(message);
    });
    const onDown = () => {
      if (!this.#up || this.#closed) return;
      this.#up = false;
      events.onDown();
    };
    for (const connection of [this.#client, this.#subscriber]) {
      connection.on("close", onDown);
      connection.on("end", onDown);
    }
    await this.#waitForReady(FIRST_CONNECT_WAIT_MS);
    await this.#becomeUp(true);
    // Attached only now: the first connection is not a recovery.
    for (const connection of [this.#client, this.#subscriber]) connection.on("ready", () => void this.#becomeUp());
  }

  async #waitForReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline && (this.#client.status !== "ready" || this.#subscriber.status !== "ready")) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async #becomeUp(initial = false): Promise<void> {
    if (this.#closed || this.#up) return;
    if (this.#client.status !== "ready" || this.#subscriber.status !== "ready") return;
    try {
      // ioredis re-subscribes by itself, but only for subscriptions it saw succeed: subscribing again is idempotent.
      await this.#subscriber.subscribe(this.#channel);
    } catch {
      return;
    }
    if (this.#up) return;
    this.#up = true;
    this.#livenessOk = true;
    if (!initial) this.#events?.onUp();
  }

  async publish(instanceId: string, message: BusMessage): Promise<number | undefined> {
    let receivers: number;
    try {
      receivers = await this.#client.publish(this.#keys.instanceChannel(instanceId), JSON.stringify(message));
    } catch (error) {
      // Normalised here so that callers map a Redis failure to REGISTRY_UNAVAILABLE, never to INTERNAL.
      throw toRegistryError(error, "publish");
    }
    return this.#client instanceof Cluster ? undefined : receivers;
  }

  async refreshLiveness(ttlMs: number): Promise<void> {
    try {
      await Promise.all([
        this.#client.set(this.#keys.instanceAlive(this.#instanceId), String(this.#now()), "PX", ttlMs),
        this.#client.zadd(this.#keys.aliveInstances(), this.#now() + ttlMs, this.#instanceId),
        // No key outlives every gateway: once none refreshes the set, the records it would reap expire anyway.
        this.#client.pexpire(this.#keys.aliveInstances(), ttlMs),
      ]);
      this.#livenessOk = true;
      // A subscription that failed while both connections stayed up (no `ready` event to retry it) is retried here.
      if (!this.#up) void this.#becomeUp();
    } catch (error) {
      this.#livenessOk = false;
      throw error;
    }
  }

  async removeLiveness(): Promise<void> {
    await Promise.all([
      this.#client.del(this.#keys.instanceAlive(this.#instanceId)),
      this.#client.zrem(this.#keys.aliveInstances(), this.#instanceId),
    ]);
  }

  async deadInstances(): Promise<string[]> {
    const overdue = await this.#client.zrangebyscore(this.#keys.aliveInstances(), "-inf", this.#now());
    const candidates = overdue.filter((id) => id !== this.#instanceId);
    if (candidates.length === 0) return [];
    const alive = await Promise.all(candidates.map((id) => this.#client.exists(this.#keys.instanceAlive(id))));
    return candidates.filter((_, i) => alive[i] === 0);
  }

  /**
   * Claims a dead instance for reaping by removing it from the instance set: ZREM answers 1 to exactly one
   * survivor. A liveness key that reappeared meanwhile (the instance was only slow) hands it back.
   */
  async claimDead(instanceId: string): Promise<boolean> {
    if ((await this.#client.zrem(this.#keys.aliveInstances(), instanceId)) !== 1) return false;
    if ((await this.#client.exists(this.#keys.instanceAlive(instanceId))) === 1) {
      await this.requeueDead(instanceId);
      return false;
    }
    return true;
  }

  /** Puts a claimed instance back (its reaping failed) so that the next scan retries it. */
  async requeueDead(instanceId: string): Promise<void> {
    await this.#client.zadd(this.#keys.aliveInstances(), 0, instanceId);
  }

  async sessionOfAnyTenant(websocketId: string): Promise<string | null> {
    try {
      return await this.#client.get(this.#keys.reverse(websocketId));
    } catch (error) {
      throw toRegistryError(error, "reverse lookup");
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriber.disconnect();
  }
}
