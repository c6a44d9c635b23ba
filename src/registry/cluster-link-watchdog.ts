import type { Cluster, Redis } from "ioredis";
import { checkIntervalOf, RedisLinkWatchdog, type RedisLinkWatchdogOptions } from "./redis-link-watchdog.js";

/** What ioredis's Cluster keeps of its pub/sub subscriber (not in its typings): the node connection it subscribes on. */
interface ClusterSubscriberView {
  subscriber?: { getInstance?: () => Redis | null };
}

/**
 * A {@link RedisLinkWatchdog} for every connection of a Redis Cluster client: one per node connection of its pool,
 * made as a node joins it (`+node`) and stopped as it leaves (`-node`), and one on the connection its pub/sub
 * subscriber holds, followed when ioredis moves the subscriber to another node.
 *
 * A dropped node connection reconnects as the client's `clusterNodeRetryStrategy` says (without one, ioredis drops
 * the node from its pool and connects to it again at the next slot refresh); a dropped subscriber connection makes
 * ioredis pick a node and subscribe there again.
 */
export class ClusterLinkWatchdog {
  readonly #cluster: Cluster;
  readonly #options: RedisLinkWatchdogOptions;
  readonly #intervalMs: number;
  readonly #nodes = new Map<Redis, RedisLinkWatchdog>();
  #subscriber?: { redis: Redis; watchdog: RedisLinkWatchdog };
  #timer?: NodeJS.Timeout;
  readonly #onAdd = (redis: Redis) => this.#add(redis);
  readonly #onRemove = (redis: Redis) => this.#remove(redis);

  constructor(cluster: Cluster, options: RedisLinkWatchdogOptions) {
    this.#intervalMs = checkIntervalOf(options);
    this.#cluster = cluster;
    this.#options = options;
  }

  /** Starts watching every node connection there is and will be, and the subscriber's. */
  start(): this {
    if (this.#timer) return this;
    this.#cluster.on("+node", this.#onAdd);
    this.#cluster.on("-node", this.#onRemove);
    for (const redis of this.#cluster.nodes("all")) this.#add(redis);
    this.#followSubscriber();
    // ioredis says nothing when it moves its subscriber: looked at as often as the node watchdogs look at theirs.
    this.#timer = setInterval(() => this.#followSubscriber(), this.#intervalMs);
    this.#timer.unref();
    return this;
  }

  /** Stops every watchdog. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#cluster.off("+node", this.#onAdd);
    this.#cluster.off("-node", this.#onRemove);
    for (const watchdog of this.#nodes.values()) watchdog.stop();
    this.#nodes.clear();
    this.#subscriber?.watchdog.stop();
    this.#subscriber = undefined;
  }

  #add(redis: Redis): void {
    if (!this.#nodes.has(redis)) this.#nodes.set(redis, new RedisLinkWatchdog(redis, this.#options).start());
  }

  #remove(redis: Redis): void {
    this.#nodes.get(redis)?.stop();
    this.#nodes.delete(redis);
  }

  #followSubscriber(): void {
    const current = (this.#cluster as unknown as ClusterSubscriberView).subscriber?.getInstance?.() ?? undefined;
    if (current === this.#subscriber?.redis) return;
    this.#subscriber?.watchdog.stop();
    this.#subscriber = current ? { redis: current, watchdog: new RedisLinkWatchdog(current, this.#options).start() } : undefined;
  }
}
