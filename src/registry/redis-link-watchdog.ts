import type { Socket } from "node:net";
import type { Redis } from "ioredis";

/** Options of {@link RedisLinkWatchdog}. */
export interface RedisLinkWatchdogOptions {
  /**
   * A ready connection that has received nothing for this long, though it was sent a `PING` at least every
   * {@link checkIntervalMs}, is taken for dead: its socket is destroyed and the client reconnects. Milliseconds.
   */
  silenceTimeoutMs: number;
  /** How often the connection is looked at, and an idle one pinged. @default a third of silenceTimeoutMs */
  checkIntervalMs?: number;
  /** Called before a silent connection is dropped, with how long it has been silent. */
  onSilent?: (silentMs: number) => void;
}

/** The check interval of `options` (its default filled in), after checking both durations (`TypeError`). */
export function checkIntervalOf(options: RedisLinkWatchdogOptions): number {
  const { silenceTimeoutMs } = options;
  if (!Number.isSafeInteger(silenceTimeoutMs) || silenceTimeoutMs <= 0) throw new TypeError(`silenceTimeoutMs must be a positive integer of milliseconds, got ${silenceTimeoutMs}`);
  const intervalMs = options.checkIntervalMs ?? Math.max(1, Math.floor(silenceTimeoutMs / 3));
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0 || intervalMs > silenceTimeoutMs) {
    throw new TypeError(`checkIntervalMs must be a positive integer of milliseconds up to silenceTimeoutMs, got ${intervalMs}`);
  }
  return intervalMs;
}

/**
 * Drops a Redis connection that has gone silent so that the client reconnects.
 *
 * A connection whose peer vanished without a reset (the Redis host powered off or cut off, a NAT or load balancer
 * in between that forgot the flow, the client's own address changed) stays open on this side: commands time out one
 * by one (`commandTimeout` only rejects the command), ioredis never sees a `close`, and so never reconnects, nor asks
 * the sentinels for a new primary, until the kernel gives up retransmitting (about 15 minutes with Linux's default
 * `tcp_retries2`). TCP keepalive does not help while unacknowledged data is in flight.
 *
 * The watchdog counts any byte received as a sign of life, so a slow but living Redis (replies late, a `CLIENT
 * PAUSE`, a bandwidth limit) is left alone as long as something arrives within `silenceTimeoutMs`; an idle
 * connection is pinged so that it has something to answer. Its own event loop standing still (a frozen or
 * overloaded process) is not taken for silence: a check that runs late starts the count again, and a connection is
 * only judged after the loop has read what its socket holds. One client's connection: a Redis Cluster client's
 * connections (one per node, and its subscriber's) are watched by ./cluster-link-watchdog.ts.
 */
export class RedisLinkWatchdog {
  readonly #client: Redis;
  readonly #silenceTimeoutMs: number;
  readonly #intervalMs: number;
  readonly #onSilent: ((silentMs: number) => void) | undefined;
  readonly #watched = new WeakSet<Socket>();
  #lastReceived = performance.now();
  #lastCheck = performance.now();
  #timer?: NodeJS.Timeout;
  #judging?: NodeJS.Immediate;
  readonly #touch = () => {
    this.#lastReceived = performance.now();
  };
  readonly #onConnect = () => {
    this.#touch();
    this.#watch();
  };

  constructor(client: Redis, options: RedisLinkWatchdogOptions) {
    this.#intervalMs = checkIntervalOf(options);
    this.#client = client;
    this.#silenceTimeoutMs = options.silenceTimeoutMs;
    this.#onSilent = options.onSilent;
  }

  /** Starts watching (the current connection and every later one). */
  start(): this {
    if (this.#timer) return this;
    this.#client.on("connect", this.#onConnect);
    this.#watch();
    this.#touch();
    this.#lastCheck = performance.now();
    this.#timer = setInterval(() => this.#check(), this.#intervalMs);
    this.#timer.unref();
    return this;
  }

  /** Stops. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#judging) clearImmediate(this.#judging);
    this.#judging = undefined;
    this.#client.off("connect", this.#onConnect);
  }

  #watch(): void {
    const stream = this.#client.stream as Socket | undefined;
    if (!stream || this.#watched.has(stream)) return;
    this.#watched.add(stream);
    stream.on("data", this.#touch);
  }

  #check(): void {
    const now = performance.now();
    const late = now - this.#lastCheck > 2 * this.#intervalMs;
    this.#lastCheck = now;
    // Not connected: ioredis is reconnecting by itself. Late: this process stood still, and so did its reading.
    if (this.#client.status !== "ready" || late) {
      this.#touch();
      return;
    }
    const silentMs = now - this.#lastReceived;
    if (silentMs >= this.#silenceTimeoutMs) {
      // Judged after the poll phase, which reads whatever the socket already holds.
      this.#judging ??= setImmediate(() => {
        this.#judging = undefined;
        this.#judge();
      });
      return;
    }
    if (silentMs >= this.#intervalMs) void this.#client.ping().catch(() => undefined);
  }

  #judge(): void {
    // stop() cancels a pending judgement, so only the connection's state can have changed since the check.
    if (this.#client.status !== "ready") return;
    const silentMs = performance.now() - this.#lastReceived;
    if (silentMs < this.#silenceTimeoutMs) return;
    this.#onSilent?.(Math.round(silentMs));
    this.#touch();
    // Destroyed, not ended: an end waits for the silent peer's answer (ioredis would destroy it only after its
    // disconnectTimeout). ioredis takes the close as a lost connection and reconnects.
    (this.#client.stream as Socket | undefined)?.destroy();
  }
}
