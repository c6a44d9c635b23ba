import { describe, expect, it } from "vitest";
import { Fault } from "../faults/fault.js";
import { defineScenario } from "./define-scenario.js";
import { planScenario } from "./engine.js";
import { MAX_HTTP_LOAD_DURATION_S } from "../load/http-load.js";
import { judgeHttpLoad, splitEvenly } from "../actions/run-http-load.js";
import { describeStep, MAX_HTTP_LOAD_STEP_MS, Step, type PlannedStep } from "./step.js";

const THRESHOLDS = { reconnectBoundMs: 1_000, settleBoundMs: 1_000, minDeliveryRatio: 0.9 };

describe("Step.httpLoad", () => {
  it("should build a bounded flood step with defaults", () => {
    expect(Step.httpLoad({ endpoint: "lookup", durationMs: 2_000, ratePerSecond: 300 })).toEqual({ kind: "http_load", endpoint: "lookup", durationMs: 2_000, connections: 10, ratePerSecond: 300, background: false });
    expect(Step.httpLoad({ endpoint: "route", durationMs: 1, ratePerSecond: 1, connections: 3, background: true })).toMatchObject({ endpoint: "route", connections: 3, background: true });
  });

  it.each([
    ["an unknown endpoint", { endpoint: "state" as "lookup", durationMs: 1_000, ratePerSecond: 10 }, /endpoint must be "lookup" or "route"/],
    ["a zero duration", { endpoint: "lookup" as const, durationMs: 0, ratePerSecond: 10 }, /durationMs must be in/],
    ["an unbounded duration", { endpoint: "lookup" as const, durationMs: MAX_HTTP_LOAD_STEP_MS + 1, ratePerSecond: 10 }, /durationMs must be in/],
    ["a zero rate", { endpoint: "lookup" as const, durationMs: 1_000, ratePerSecond: 0 }, /ratePerSecond must be positive/],
    ["a negative rate", { endpoint: "lookup" as const, durationMs: 1_000, ratePerSecond: -1 }, /ratePerSecond must be a non-negative number/],
    ["a fractional rate", { endpoint: "lookup" as const, durationMs: 1_000, ratePerSecond: 2.5 }, /ratePerSecond must be an integer/],
    ["fractional connections", { endpoint: "lookup" as const, durationMs: 1_000, ratePerSecond: 10, connections: 1.5 }, /connections must be an integer in \[1, 10000\]/],
    ["more connections than a flood allows", { endpoint: "lookup" as const, durationMs: 1_000, ratePerSecond: 10, connections: 10_001 }, /connections must be an integer in \[1, 10000\]/],
  ])("should reject %s with a TypeError", (_label, options, message) => {
    expect(() => Step.httpLoad(options)).toThrow(TypeError);
    expect(() => Step.httpLoad(options)).toThrow(message);
  });
});

describe("http load bounds and judgement", () => {
  it("should bound a step's duration by the flood's own bound", () => {
    expect(MAX_HTTP_LOAD_STEP_MS).toBe(MAX_HTTP_LOAD_DURATION_S * 1_000);
    expect(Step.httpLoad({ endpoint: "lookup", durationMs: MAX_HTTP_LOAD_STEP_MS, ratePerSecond: 1 })).toMatchObject({ durationMs: MAX_HTTP_LOAD_STEP_MS });
  });

  it.each([
    [300, 3, [100, 100, 100]],
    [100, 3, [34, 33, 33]],
    [2, 3, [1, 1, 0]],
    [1, 1, [1]],
  ])("should split %i over %i parts as %j, never above the total", (total, parts, shares) => {
    expect(splitEvenly(total, parts)).toEqual(shares);
    expect(splitEvenly(total, parts).reduce((a, b) => a + b, 0)).toBe(total);
  });

  it("should pass a flood with at most 1% failed requests and fail one with more", () => {
    expect(judgeHttpLoad({ requests: 1_000, non2xx: 5, errors: 5, timeouts: 2 })).toBeUndefined();
    expect(judgeHttpLoad({ requests: 1_000, non2xx: 11, errors: 0, timeouts: 0 })?.actual).toMatchObject({ attempted: 1_000, failed: 11 });
    // errors include timeouts: 995 responses + 6 errors = 1,001 attempts, 11 failed > 10 allowed.
    expect(judgeHttpLoad({ requests: 995, non2xx: 5, errors: 6, timeouts: 6 })?.actual).toMatchObject({ attempted: 1_001, failed: 11 });
  });

  it("should allow no failure below 100 requests, and fail a flood that made none", () => {
    expect(judgeHttpLoad({ requests: 99, non2xx: 0, errors: 0, timeouts: 0 })).toBeUndefined();
    expect(judgeHttpLoad({ requests: 99, non2xx: 1, errors: 0, timeouts: 0 })).toBeDefined();
    expect(judgeHttpLoad({ requests: 0, non2xx: 0, errors: 0, timeouts: 0 })?.actual).toMatchObject({ reason: "the flood made no request" });
  });
});

describe("planning http_load and await_background", () => {
  it("should pass both steps through the plan unchanged and describe them", () => {
    const scenario = defineScenario({
      name: "http-load-sample",
      description: "an HTTP flood beside a background fault",
      checks: ["delivery"],
      profiles: {
        ci: { instances: 2, clients: 4, durationS: 1, messageRatePerSecond: 1, thresholds: THRESHOLDS },
        release: { instances: 2, clients: 4, durationS: 1, messageRatePerSecond: 1, thresholds: THRESHOLDS },
      },
      steps: () => [
        Step.connectFleet(),
        Step.fault(Fault.latency({ latencyMs: 10, durationMs: 500 }), { background: true }),
        Step.httpLoad({ endpoint: "route", durationMs: 500, ratePerSecond: 50, background: true }),
        Step.awaitBackground(),
      ],
    });
    const plan = planScenario({ scenario, seed: 1 });
    expect(plan.slice(2)).toEqual([{ kind: "http_load", endpoint: "route", durationMs: 500, connections: 10, ratePerSecond: 50, background: true }, { kind: "await_background" }]);
    expect(plan.slice(2).map(describeStep)).toEqual(["http load route 50/s for 500ms (background)", "await background faults and load"]);
  });
});

describe("Step.departClients", () => {
  it("should build a bounded departure with the default observation window", () => {
    expect(Step.departClients({ kind: "terminate", count: 6 })).toEqual({ kind: "depart_clients", departure: "terminate", count: 6, observeMs: 3_000 });
    expect(describeStep(Step.departClients({ kind: "kill", count: 3, observeMs: 500 }) as PlannedStep)).toBe("depart 3 clients (kill)");
  });

  it("should refuse an unknown kind, a count out of [1, 1000] and an unbounded observation", () => {
    expect(() => Step.departClients({ kind: "cut" as never, count: 1 })).toThrow(TypeError);
    expect(() => Step.departClients({ kind: "close", count: 0 })).toThrow(TypeError);
    expect(() => Step.departClients({ kind: "close", count: 1.5 })).toThrow(TypeError);
    expect(() => Step.departClients({ kind: "close", count: 1_001 })).toThrow(TypeError);
    expect(() => Step.departClients({ kind: "close", count: 1, observeMs: 0 })).toThrow(TypeError);
    expect(() => Step.departClients({ kind: "close", count: 1, observeMs: 60_001 })).toThrow(TypeError);
  });
});
