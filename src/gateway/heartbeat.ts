/**
 * A fixed-period task runner that never overlaps itself: a tick that takes longer than the period delays the
 * next one instead of piling up (bounded work under a slow Redis).
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

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), this.#intervalMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      await this.#tick();
    } catch {
      // Redis trouble: the next period tries again; reconnects trigger a reconciliation of their own.
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  /** Stops for good. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
