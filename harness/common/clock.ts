import { setTimeout as delay } from "node:timers/promises";

/** Time source of the engine, injectable so that schedules can be computed and tested without waiting. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: async (ms: number, signal?: AbortSignal) => {
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch (error) {
      // timers/promises rejects with a generic AbortError: surface the signal's own reason.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  },
});
