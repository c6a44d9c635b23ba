import * as hdr from "hdr-histogram-js";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "./random.js";
import { LatencyHistogram, mergeLatency } from "./histogram.js";

describe("LatencyHistogram", () => {
  it("should report percentiles in ms with microsecond resolution", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1_000; i++) h.recordMs(i / 10);
    const s = h.summary();
    expect(s.count).toBe(1_000);
    expect(s.min).toBeCloseTo(0.1, 2);
    expect(s.p50).toBeCloseTo(50, 0);
    expect(s.p99).toBeCloseTo(99, 0);
    expect(s.max).toBeCloseTo(100, 0);
  });

  it("should merge encoded histograms exactly", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.recordMs(1);
    for (let i = 0; i < 100; i++) b.recordMs(9);
    const merged = mergeLatency([a.encode(), b.encode()]);
    expect(merged.count).toBe(200);
    expect(merged.min).toBeCloseTo(1, 2);
    expect(merged.max).toBeCloseTo(9, 1);
    expect(new LatencyHistogram().summary().count).toBe(0);
  });

  it("should give the mean hdr-histogram-js gives, to the last bit", () => {
    const random = new SeededRandom(7);
    const merged = new LatencyHistogram();
    for (const scale of [0.001, 0.05, 1, 40, 2_000, 600_000]) {
      const h = new LatencyHistogram();
      // Values over several orders of magnitude, a few far out, some past the highest trackable value (clamped).
      for (let i = 0; i < 5_000; i++) h.recordMs(scale * (random.next() < 0.01 ? 1_000 * random.next() : random.next()));
      const theirs = Math.round(hdr.decodeFromCompressedBase64(h.encode(), 32, false).mean) / 1000;
      expect(h.summary().mean, `scale ${scale}`).toBe(theirs);
      merged.add(h);
    }
    expect(merged.summary().mean).toBe(Math.round(hdr.decodeFromCompressedBase64(merged.encode(), 32, false).mean) / 1000);
    const one = new LatencyHistogram();
    one.recordMs(12.345);
    expect(one.summary().mean).toBe(Math.round(hdr.decodeFromCompressedBase64(one.encode(), 32, false).mean) / 1000);
  });
});
