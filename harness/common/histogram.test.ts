import { describe, expect, it } from "vitest";
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
});
