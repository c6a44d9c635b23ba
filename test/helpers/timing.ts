/** Awaits `work` and measures how long it took to settle, in whole milliseconds of monotonic time. */
export async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: Math.round(performance.now() - started) };
}
