import { describe, expect, it } from "vitest";
import clientPath from "../../scenarios/client-path.js";
import clockSkew from "../../scenarios/clock-skew.js";
import slowConsumers from "../../scenarios/slow-consumers.js";
import { checkOf, expectPassed, runCiScenario } from "../helpers/scenario-run.js";

/**
 * The scenarios of the client path, slow consumers and clock skew, in their ci profile: each passes on the
 * reference gateway, and its check really judged something. Each check fails under its failpoint in a test of its
 * own, which drives the same fault and the same judge directly and asserts more of the failure:
 * `no-half-open-detect` in nemesis-client-path.test.ts, `unbounded-send-buffer` in nemesis-slow-consumer.test.ts,
 * `wall-clock-expiry` in nemesis-clock-skew.test.ts (both directions of the skew). Running these scenarios again
 * under the failpoints would only repeat those (`npm run gate` still does, as their `caughtBy`).
 */
describe("client-path, slow-consumers and clock-skew scenarios", { timeout: 180_000 }, () => {
  it("client-path should pass: the black-holed instance's records cleared within 2H + W", async () => {
    const result = await runCiScenario(clientPath, { seed: 7 });
    expectPassed(clientPath, result);
    // One black hole, on an instance that held records when it began, all of them gone within the bound.
    expect(checkOf(result, "half-open-cleanup").actual).toEqual([expect.objectContaining({ records_at_cut: expect.any(Number), cleared_after_ms: expect.any(Number), left_at_end: 0 })]);
    expect((checkOf(result, "half-open-cleanup").actual as { records_at_cut: number }[])[0]!.records_at_cut).toBeGreaterThan(0);
  });

  it("slow-consumers should pass: both stalled clients shed, the send buffer bounded", async () => {
    const result = await runCiScenario(slowConsumers, { seed: 7 });
    expectPassed(slowConsumers, result);
    expect(checkOf(result, "slow-consumer").actual).toEqual({ faults: 1, failed: 0 });
  });

  it("clock-skew should pass: its probe of each skew holds, and the registry equals the live connections after", async () => {
    const result = await runCiScenario(clockSkew, { seed: 7 });
    expectPassed(clockSkew, result);
    // Both skews were applied and probed (a probe that fails is a failed `step: probe clock skew` result).
    expect(result.events.filter((e) => e.source === "fault" && e.type === "fault_applied" && e.kind === "clock_skew")).toHaveLength(2);
    expect(result.events.filter((e) => e.source === "engine" && e.type === "step_end" && String(e.description).startsWith("probe clock skew"))).toHaveLength(2);
  }, 300_000);
});
