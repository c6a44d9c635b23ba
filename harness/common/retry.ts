import { setTimeout as delay } from "node:timers/promises";

/** Options of {@link retryUntil}. */
export interface RetryUntilOptions {
  /** Overall deadline in milliseconds. */
  timeoutMs: number;
  /** Pause between attempts in milliseconds. @default 20 */
  intervalMs?: number;
  /** Aborts the wait early; the returned promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls `probe` until `predicate` accepts its value or the deadline passes, then calls `onTimeout` with the
 * last value (or the last error the probe threw) and throws what it returns. Never a fixed sleep: the first
 * attempt runs at once, and the pause between attempts is short.
 */
export async function retryUntil<T>(
  probe: () => Promise<T>,
  predicate: (value: T) => boolean,
  onTimeout: (last: { value?: T; error?: unknown }) => Error,
  options: RetryUntilOptions,
): Promise<T> {
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + options.timeoutMs;
  const last: { value?: T; error?: unknown } = {};
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      last.value = value;
      delete last.error;
      if (predicate(value)) return value;
    } catch (error) {
      last.error = error;
    }
    if (Date.now() >= deadline) throw onTimeout(last);
    try {
      await delay(intervalMs, undefined, options.signal ? { signal: options.signal } : undefined);
    } catch (error) {
      // timers/promises rejects with a generic AbortError: surface the signal's own reason, as documented.
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    }
  }
}
