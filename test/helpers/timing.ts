/** Awaits `work` and measures how long it took to settle, in whole milliseconds of monotonic time. */
export async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: Math.round(performance.now() - started) };
}

/**
 * The statuses `ask` answers, every 250 ms from now until it answers 200 or `sinceMs` (epoch ms) is `boundMs` past:
 * what a client of a gateway recovering from a fault started at `sinceMs` would have seen.
 */
export async function statusesUntilOk(ask: () => Promise<number>, sinceMs: number, boundMs: number): Promise<number[]> {
  const statuses: number[] = [];
  while (Date.now() - sinceMs < boundMs) {
    const status = await ask();
    statuses.push(status);
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return statuses;
}
