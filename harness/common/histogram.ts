import * as hdr from "hdr-histogram-js";

/** Highest latency a histogram tracks, in microseconds (10 minutes); larger values are clamped. */
const HIGHEST_TRACKABLE_US = 600_000_000;

/** Percentiles of a latency distribution, in milliseconds (0 when nothing was recorded). */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * An HDR histogram of latencies (hdr-histogram-js), recorded in microseconds with 3 significant digits and reported
 * in milliseconds. Histograms from several processes merge exactly: send {@link encode} over IPC and
 * {@link LatencyHistogram.decode} on the other side.
 */
export class LatencyHistogram {
  readonly #histogram: hdr.Histogram;

  constructor(histogram?: hdr.Histogram) {
    this.#histogram =
      histogram ??
      hdr.build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_US, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  }

  /** Decodes a histogram produced by {@link encode}. */
  static decode(encoded: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(encoded, 32, false));
  }

  /** Records one latency in milliseconds (fractions kept to the microsecond). */
  recordMs(ms: number): void {
    const us = Math.round(ms * 1000);
    this.#histogram.recordValue(Math.min(Math.max(us, 1), HIGHEST_TRACKABLE_US));
  }

  /** Number of recorded values. */
  get count(): number {
    return this.#histogram.totalCount;
  }

  /** Adds every value of `other` to this histogram. */
  add(other: LatencyHistogram): void {
    this.#histogram.add(other.#histogram);
  }

  /** Compressed base64 form (HdrHistogram's standard encoding). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.#histogram);
  }

  /** Latency at a percentile (0-100), in ms. */
  percentileMs(percentile: number): number {
    return this.#histogram.totalCount === 0 ? 0 : this.#histogram.getValueAtPercentile(percentile) / 1000;
  }

  /** The usual percentiles, in ms. */
  summary(): LatencySummary {
    const h = this.#histogram;
    if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    return {
      count: h.totalCount,
      min: h.minNonZeroValue / 1000,
      mean: Math.round(meanOf(h)) / 1000,
      p50: h.getValueAtPercentile(50) / 1000,
      p90: h.getValueAtPercentile(90) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      p999: h.getValueAtPercentile(99.9) / 1000,
      max: h.maxValue / 1000,
    };
  }

  /** Forgets every value. */
  reset(): void {
    this.#histogram.reset();
  }
}

/**
 * `h.mean`, computed as hdr-histogram-js computes it (each recorded count at its bucket's median equivalent value,
 * summed in bucket order, so the same number to the last bit) in one loop over the counts: its own getter walks an
 * iteration object through every bucket, which made the fleet's merged summaries (three histograms, every sample
 * of a run) cost about 10 ms a second of the harness's CPU.
 */
function meanOf(h: hdr.Histogram): number {
  if (!(h instanceof hdr.JsHistogram)) return h.mean;
  const total = h.totalCount;
  let sum = 0;
  let seen = 0;
  for (let i = 0; seen < total && i < h.countsArrayLength; i++) {
    const count = h.getCountAtIndex(i);
    if (count === 0) continue;
    sum += h.medianEquivalentValue(h.highestEquivalentValue(h.valueFromIndex(i))) * count;
    seen += count;
  }
  return sum / total;
}

/** Merges encoded histograms into one summary. */
export function mergeLatency(encoded: readonly string[]): LatencySummary {
  const total = new LatencyHistogram();
  for (const item of encoded) total.add(LatencyHistogram.decode(item));
  return total.summary();
}
