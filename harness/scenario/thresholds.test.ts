import { describe, expect, it } from "vitest";
import type { RunEvent } from "../report/run-result.js";
import { resolveProfile } from "./define-scenario.js";
import { parseThresholdExpression } from "./threshold-expression.js";
import { ThresholdMetrics } from "./threshold-metrics.js";
import { measureThreshold, parseThresholds, thresholdResult } from "./thresholds.js";

const fleet = (t: number, type: string, fields: Record<string, unknown> = {}): RunEvent => ({ t, source: "fleet", type, client: "c1", ...fields }) as unknown as RunEvent;

/** A small history: 10 routes acked in 1..10 ms, deliveries, two reconnects, one lookup probe, errors by code. */
function history(): RunEvent[] {
  const events: RunEvent[] = [];
  for (let i = 1; i <= 10; i++) {
    events.push(fleet(i, "message_sent"), fleet(i, "message_acked", { latency_ms: i }), fleet(i, "message_received", { latency_ms: i * 2 }));
  }
  events.push(fleet(100, "welcome", { latency_ms: 30 }));
  events.push(fleet(200, "disconnect", { expected: false }), fleet(1_450, "welcome", { latency_ms: 40 }));
  events.push(fleet(2_000, "disconnect", { client: "c2" }), fleet(2_100, "welcome", { client: "c2", latency_ms: 50 }));
  events.push(fleet(3_000, "disconnect", { client: "c3", expected: true }), fleet(3_500, "welcome", { client: "c3", latency_ms: 20 }));
  events.push(fleet(4_000, "message_error", { code: "REGISTRY_UNAVAILABLE" }), fleet(4_001, "message_error", { code: "RATE_LIMITED" }));
  events.push({ t: 5_000, source: "probe", type: "lookup_probe", answers: [{ via: "gw-1", connection: { status: 200, latency_ms: 3 }, session: { status: 200, latency_ms: 7 } }] } as unknown as RunEvent);
  return events;
}

function judge(thresholds: Parameters<typeof parseThresholds>[0], events = history()) {
  const metrics = new ThresholdMetrics();
  metrics.consume(events);
  return parseThresholds(thresholds).map((threshold) => thresholdResult(threshold, measureThreshold(threshold, metrics)));
}

describe("parseThresholdExpression", () => {
  it("should read k6's forms and give a canonical text", () => {
    expect(parseThresholdExpression("p(99)<250")).toMatchObject({ aggregation: { kind: "percentile", p: 99 }, operator: "<", bound: 250, text: "p99 < 250" });
    expect(parseThresholdExpression(" p99.9 <= 400 ms ").text).toBe("p99.9 <= 400");
    expect(parseThresholdExpression("rate == 0")).toMatchObject({ aggregation: { kind: "rate" }, operator: "==", bound: 0 });
  });

  for (const bad of ["p99", "p0 < 1", "p101 < 1", "avg << 1", "mean < 1", "p99 < fast", ""]) {
    it(`should reject ${JSON.stringify(bad)}`, () => {
      expect(() => parseThresholdExpression(bad)).toThrow(TypeError);
    });
  }
});

describe("thresholds", () => {
  it("should pass each metric's threshold when the bound holds and fail it when set too tight", () => {
    const loose = judge({
      ack_latency: ["p99 < 11", "avg < 6", "count == 10"],
      delivery_latency: ["p(50) <= 10"],
      connect_latency: ["max < 51", "min >= 20"],
      lookup_latency: ["max < 8"],
      reconnect_time: ["max < 1300", "med <= 100"],
      error_rate: ["rate <= 0.2"],
      "error_rate{code:RATE_LIMITED}": ["count == 1"],
    });
    expect(loose.filter((r) => !r.pass)).toEqual([]);
    const tight = judge({
      ack_latency: ["p99 < 10", "avg < 5", "count == 9"],
      delivery_latency: ["p(50) < 10"],
      connect_latency: ["max < 50", "min > 20"],
      lookup_latency: ["max < 7"],
      reconnect_time: ["max < 1250", "med < 100"],
      error_rate: ["rate < 0.2"],
      "error_rate{code:RATE_LIMITED}": ["count == 0"],
    });
    expect(tight.map((r) => [r.name, r.pass, r.actual])).toEqual([
      ["threshold: ack p99 < 10 ms", false, "10 ms"],
      ["threshold: ack avg < 5 ms", false, "5.5 ms"],
      ["threshold: ack count == 9", false, "10"],
      ["threshold: delivery p50 < 10 ms", false, "10 ms"],
      ["threshold: connect max < 50 ms", false, "50 ms"],
      ["threshold: connect min > 20 ms", false, "20 ms"],
      ["threshold: lookup max < 7 ms", false, "7 ms"],
      ["threshold: reconnect max < 1250 ms", false, "1250 ms"],
      ["threshold: reconnect med < 100 ms", false, "100 ms"],
      ["threshold: error rate rate < 0.2", false, "0.2"],
      ["threshold: error rate RATE_LIMITED count == 0", false, "1"],
    ]);
  });

  it("should bound the confirmed acks alone with ack_latency{partial:false}, and the partial ones with ack_latency", () => {
    // Two routes whose holder was killed in flight, acked partial after the gateway's remote-ack timeout.
    const events = [...history(), fleet(6_000, "message_acked", { latency_ms: 2_017, partial: true }), fleet(6_001, "message_acked", { latency_ms: 2_035, partial: true })];
    const results = judge({ "ack_latency{partial:false}": ["max < 11", "count == 10", "max < 10"], ack_latency: ["max < 1000"] }, events);
    expect(results.map((r) => [r.name, r.pass, r.actual])).toEqual([
      ["threshold: confirmed ack max < 11 ms", true, "10 ms"],
      ["threshold: confirmed ack count == 10", true, "10"],
      ["threshold: confirmed ack max < 10 ms", false, "10 ms"],
      ["threshold: ack max < 1000 ms", false, "2035 ms"],
    ]);
    expect(results[0]!.evidence).toMatchObject({ metric: "ack_latency{partial:false}", samples: 10 });
  });

  it("should fail a threshold whose metric has no data", () => {
    const [result] = judge({ reconnect_time: ["max < 1000000"] }, [fleet(1, "welcome", { latency_ms: 1 })]);
    expect(result).toMatchObject({ pass: false, actual: "no data" });
  });

  it("should read events incrementally, as the abort monitor does", () => {
    const events = history();
    const metrics = new ThresholdMetrics();
    metrics.consume(events.slice(0, 3));
    expect(metrics.values("ack_latency")).toEqual([1]);
    metrics.consume(events);
    expect(metrics.values("ack_latency")).toHaveLength(10);
    expect(metrics.errors()).toEqual({ errors: 2, sent: 10 });
  });

  it("should keep a breach that stopped the run as a failure with its figure", () => {
    const [threshold] = parseThresholds({ ack_latency: [{ threshold: "p99 < 250", abortOnFail: true }] });
    const result = thresholdResult(threshold!, { value: 100, count: 5 }, { atMs: 1_500, value: 900 });
    expect(result).toMatchObject({ pass: false, actual: "900 ms", evidence: { aborted_run_at_ms: 1_500, abort_on_fail: true } });
  });
});

describe("resolveProfile with metricThresholds", () => {
  const scenario = { name: "x", description: "x", checks: ["delivery"], profiles: {}, steps: () => [] } as unknown as Parameters<typeof resolveProfile>[0];
  const profile = { instances: 1, clients: 1, durationS: 1, messageRatePerSecond: 1, thresholds: { reconnectBoundMs: 1, settleBoundMs: 1, minDeliveryRatio: 1 } };

  it("should accept valid thresholds and fill in the baseline tolerance", () => {
    const resolved = resolveProfile(scenario, { ...profile, metricThresholds: { ack_latency: ["p99 < 250"], "ack_latency{partial:false}": ["p99 < 100"], "error_rate{code:X}": ["rate == 0"] }, baselineTolerance: { latencyRatio: 2 } });
    expect(resolved.baselineTolerance).toEqual({ latencyRatio: 2, latencyDeltaMs: 5, rateRatio: 1.5, rateDelta: 0.001 });
  });

  const BAD = [
    { metricThresholds: { ack: ["p99 < 1"] } },
    { metricThresholds: { "ack_latency{code:X}": ["p99 < 1"] } },
    { metricThresholds: { "ack_latency{partial:true}": ["p99 < 1"] } },
    { metricThresholds: { "connect_latency{partial:false}": ["p99 < 1"] } },
    { metricThresholds: { "ack_latency{partial:false}": ["rate < 1"] } },
    { metricThresholds: { ack_latency: ["rate < 1"] } },
    { metricThresholds: { error_rate: ["p99 < 1"] } },
    { metricThresholds: { ack_latency: ["p99 < soon"] } },
    { metricThresholds: { ack_latency: [{ threshold: "p99 < 1", delayAbortEvalMs: -1 }] } },
    { baselineTolerance: { latencyRatio: -1 } },
  ];
  for (const bad of BAD) {
    it(`should reject ${JSON.stringify(bad)} with HARNESS_ERR_INVALID_SCENARIO`, () => {
      expect(() => resolveProfile(scenario, { ...profile, ...(bad as object) })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_SCENARIO" }));
    });
  }
});
