/** The smallest, the middle and the largest of a set of measurements (a benchmark's rounds, say). */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/**
 * Min, median and max of `values`. The median of an even count is the upper of the two middle values, so that it is
 * always a value that was measured; `whenEmpty` stands for all three when there is none.
 */
export function spreadOf(values: readonly number[], whenEmpty = Number.NaN): Spread {
  if (values.length === 0) return { min: whenEmpty, median: whenEmpty, max: whenEmpty };
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
}
