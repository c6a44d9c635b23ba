/**
 * A fixed-period task runner that never overlaps itself: each tick is due a period after the previous one started,
 * and a tick that takes longer than the period delays the next one (it starts as soon as that one ends) instead of
 * piling up (bounded work under a slow Redis). Timing from the start keeps the period when a tick is slow: the
 * gateway runs its heartbeat in ten ticks a period, and ten slow Redis round trips added to the period each time
 * would stretch it towards the connection TTL.
 */
export class Heartbeat {
  readonly #intervalMs: number;
  readonly #tick: () => Promise<void>;
  #timer?: NodeJS.Timeout;
  #running = false;
  #stopped = false;

  /**
   * @param intervalMs period in ms (`HEARTBEAT_INTERVAL_MS`).
   * @param tick the work of one period; its rejections are swallowed (the next tick retries).
   */
  constructor(intervalMs: number, tick: () => Promise<void>) {
    this.#intervalMs = intervalMs;
    this.#tick = tick;
  }

  /** Starts ticking every `intervalMs`. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.#schedule();
  }

  /** Schedules the next tick `delayMs` from now (a whole period unless the last tick used part of it). */
  #schedule(delayMs = this.#intervalMs): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    const startedAt = Date.now();
    try {
      await this.#tick();
    } catch {
      // Redis trouble: the next period tries again; reconnects trigger a reconciliation of their own.
    } finally {
      this.#running = false;
      // Clamped: a clock stepped backwards must not hold the next tick back for longer than a period.
      this.#schedule(Math.min(this.#intervalMs, Math.max(0, this.#intervalMs - (Date.now() - startedAt))));
    }
  }

  /** Stops for good. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
