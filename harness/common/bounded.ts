/**
 * Runs `run` over `items` with at most `limit` calls in flight at once, in the items' order, and resolves once every
 * started call has ended. A call that throws rejects the whole (the calls already in flight still end on their
 * own; no new one starts). Once `signal` aborts, no new call starts and the promise resolves with what ran.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, run: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length && signal?.aborted !== true) {
      const index = next++;
      try {
        await run(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
