import { describe, expect, it } from "vitest";
import { baselineResults, compareWithBaseline } from "./baseline-comparison.js";
import type { CheckResult } from "./run-result.js";

const check = (name: string, pass: boolean): CheckResult => ({ name, pass, expected: null, actual: null, evidence: null });
const latency = (p50: number, p99: number) => ({ count: 10, p50, p90: p50 * 2, p99, max: p99 * 2 });

describe("compareWithBaseline", () => {
  it("should name regressions, fixes, added and removed checks", () => {
    const result = compareWithBaseline(
      { checks: [check("no-ghosts", false), check("delivery", true), check("ttl-expiry", true)], duration_ms: 15_000 },
      { run_id: "r0", seed: 7, duration_ms: 10_000, checks: [check("no-ghosts", true), check("delivery", false), check("restart-survival", true)] },
    );
    expect(result).toMatchObject({ run_id: "r0", seed: 7, duration_ratio: 1.5, regressions: ["no-ghosts"], fixed: ["delivery"], added: ["ttl-expiry"], removed: ["restart-survival"] });
  });

  it("should give latency percentile ratios for kinds present in both summaries", () => {
    const result = compareWithBaseline(
      { checks: [], duration_ms: 1, fleet_summary: { latency: { connect: latency(20, 90), ack: latency(3, 30) } } },
      { checks: [], duration_ms: 1, fleet_summary: { latency: { connect: latency(10, 100), delivery: latency(1, 2) } } },
    );
    expect(result.latency_ratios).toEqual({ connect: { p50: 2, p90: 2, p99: 0.9, max: 0.9 } });
  });

  it("should give null ratios where the baseline's figure is zero or missing", () => {
    const result = compareWithBaseline(
      { checks: [], duration_ms: 5, fleet_summary: { latency: { ack: { p50: 1, p99: 2 } } } },
      { duration_ms: 0, fleet_summary: { latency: { ack: { p50: 0, p99: "x" } } } },
    );
    expect(result.duration_ratio).toBeNull();
    expect(result.latency_ratios).toEqual({ ack: { p50: null, p90: null, p99: null, max: null } });
  });

  it("should cope with a baseline that has none of the fields", () => {
    expect(compareWithBaseline({ checks: [check("delivery", true)], duration_ms: 10 }, {})).toEqual({
      run_id: null,
      seed: null,
      duration_ratio: null,
      regressions: [],
      fixed: [],
      added: ["delivery"],
      removed: [],
      latency_ratios: {},
    });
  });
});

describe("baselineResults", () => {
  const TOLERANCE = { latencyRatio: 1.5, latencyDeltaMs: 5, rateRatio: 1.5, rateDelta: 0.001 };
  const summary = (ackP99: number, errors: number) => ({ latency: { ack: latency(2, ackP99) }, messages: { sent: 1_000, errors } });

  it("should pass a run within the tolerances", () => {
    const results = baselineResults(
      { checks: [check("delivery", true), check("threshold: ack p99 < 250 ms", true)], duration_ms: 1, fleet_summary: summary(140, 1) },
      { run_id: "r0", checks: [check("delivery", true), check("no-ghosts", false), check("threshold: ack p99 < 250 ms", true), check("baseline: old", true)], fleet_summary: summary(100, 1) },
      TOLERANCE,
    );
    expect(results.map((r) => [r.name, r.pass])).toEqual([
      ["baseline: delivery still passes", true],
      ["baseline: threshold: ack p99 < 250 ms still passes", true],
      ["baseline: ack p50 within 1.5× baseline", true],
      ["baseline: ack p99 within 1.5× baseline", true],
      ["baseline: error rate within 1.5× baseline", true],
    ]);
  });

  it("should fail a check that passed before, a percentile and an error rate beyond the tolerance", () => {
    const results = baselineResults(
      { checks: [check("delivery", false)], duration_ms: 1, fleet_summary: summary(151, 3) },
      { checks: [check("delivery", true)], fleet_summary: summary(100, 1) },
      TOLERANCE,
    );
    expect(results.filter((r) => !r.pass).map((r) => r.name)).toEqual(["baseline: delivery still passes", "baseline: ack p99 within 1.5× baseline", "baseline: error rate within 1.5× baseline"]);
  });

  it("should pass small figures that are worse by no more than the absolute delta", () => {
    const results = baselineResults({ checks: [], duration_ms: 1, fleet_summary: summary(6, 1) }, { checks: [], fleet_summary: summary(2, 0) }, TOLERANCE);
    expect(results.every((r) => r.pass)).toBe(true);
  });
});
