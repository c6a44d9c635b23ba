import type { RedisClient } from "./redis-client.js";

/** How often the offset to Redis's clock is measured again, in ms. */
const RESYNC_INTERVAL_MS = 5_000;

/**
 * A clock anchored on Redis's own clock (`TIME`), so that expiry scores, `expires_at` and liveness deadlines written
 * by every instance are on one time line whatever each host's wall clock says (a skewed host would otherwise shorten
 * or lengthen the life of the records it writes, or take live instances for dead ones).
 *
 * `now()` is the monotonic clock (`performance.now()`) plus the offset to Redis `TIME` measured at the last sync,
 * with half the round trip as the correction, so it is off by at most half a round trip plus the drift since the
 * last sync, and a step of the local wall clock (NTP, a VM resume) does not move it. It syncs on every `ready` of the
 * client and every {@link RESYNC_INTERVAL_MS}; until the first sync succeeds it answers the local wall clock. A
 * failed sync keeps the last offset.
 */
export class RedisTimeClock {
  readonly #client: RedisClient;
  #offsetMs: number | undefined;
  #timer?: NodeJS.Timeout;
  #syncing?: Promise<void>;
  readonly #onReady = () => void this.sync().catch(() => undefined);

  constructor(client: RedisClient) {
    this.#client = client;
    this.now = this.now.bind(this);
  }

  /** Whether an offset to Redis's clock has been measured yet. */
  get synced(): boolean {
    return this.#offsetMs !== undefined;
  }

  /** The measured offset (Redis time minus local wall time), in ms; `undefined` before the first sync. */
  get skewMs(): number | undefined {
    return this.#offsetMs === undefined ? undefined : Math.round(this.#offsetMs + performance.now() - Date.now());
  }

  /** Epoch ms on Redis's clock (the local wall clock until the first sync). Bound: usable as a `clock` option. */
  now(): number {
    return this.#offsetMs === undefined ? Date.now() : Math.floor(performance.now() + this.#offsetMs);
  }

  /** Starts syncing: at once, on every reconnect and periodically. */
  start(): this {
    this.#client.on("ready", this.#onReady);
    this.#timer = setInterval(this.#onReady, RESYNC_INTERVAL_MS);
    this.#timer.unref();
    this.#onReady();
    return this;
  }

  /** Measures the offset to Redis `TIME` once; concurrent calls share one round trip. Rejects when Redis does not answer. */
  sync(): Promise<void> {
    this.#syncing ??= this.#measure().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #measure(): Promise<void> {
    const before = performance.now();
    const [seconds, micros] = (await this.#client.time()) as [string | number, string | number];
    const after = performance.now();
    const redisMs = Number(seconds) * 1_000 + Number(micros) / 1_000;
    this.#offsetMs = redisMs - (before + after) / 2;
  }

  /** Stops syncing. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#client.off("ready", this.#onReady);
  }
}
