/**
 * A fixed-period task runner that never overlaps itself. Ticks start one period apart (start to start), so that the
 * work of a tick does not stretch the period: the gateway's heartbeat runs as ten ticks per `H` (record-refresher.ts
 * `HEARTBEAT_SLICES`), and scheduling each a period after the previous one ended added every slice's own duration
 * (pings, the refresh's round trip, more on a loaded machine) to `H`, so that half-open sockets could be found later
 * than the `2H` docs/protocol.md promises and records refreshed less often than every `H`. A tick that takes longer
 * than the period is followed by a whole period of rest instead (bounded work under a slow Redis: no tick starts
 * while one runs, and none right after one that overran).
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

  #schedule(delayMs = this.#intervalMs): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    const startedAt = performance.now();
    try {
      await this.#tick();
    } catch {
      // Redis trouble: the next period tries again; reconnects trigger a reconciliation of their own.
    } finally {
      this.#running = false;
      const elapsed = performance.now() - startedAt;
      this.#schedule(elapsed < this.#intervalMs ? this.#intervalMs - elapsed : this.#intervalMs);
    }
  }

  /** Stops for good. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
