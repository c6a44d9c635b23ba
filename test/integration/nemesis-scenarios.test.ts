import { describe, expect, it } from "vitest";
import clientPath from "../../scenarios/client-path.js";
import clockSkew from "../../scenarios/clock-skew.js";
import slowConsumers from "../../scenarios/slow-consumers.js";
import { expectFailedBy, expectPassed, runCiScenario } from "../helpers/scenario-run.js";

/**
 * The scenarios of the client path and slow consumers, in their ci profile: each passes on the reference gateway
 * and fails, by the check it exists for, under its negative control.
 */
describe("client-path and slow-consumers scenarios", { timeout: 180_000 }, () => {
  it("client-path: should pass, and fail half-open-cleanup with no-half-open-detect", async () => {
    expectPassed(clientPath, await runCiScenario(clientPath, { seed: 7 }));
    const broken = expectFailedBy(await runCiScenario(clientPath, { seed: 7, control: { defects: "no-half-open-detect" } }), "half-open-cleanup");
    expect(broken.actual).toEqual([expect.objectContaining({ cleared_after_ms: null })]);
  });

  it("slow-consumers: should pass, and fail slow-consumer with unbounded-send-buffer", async () => {
    expectPassed(slowConsumers, await runCiScenario(slowConsumers, { seed: 7 }));
    expectFailedBy(await runCiScenario(slowConsumers, { seed: 7, control: { defects: "unbounded-send-buffer" } }), "slow-consumer");
  });

  it("clock-skew: should pass, and fail its probe step with wall-clock-expiry", async () => {
    expectPassed(clockSkew, await runCiScenario(clockSkew, { seed: 7 }));
    const broken = await runCiScenario(clockSkew, { seed: 7, control: { defects: "wall-clock-expiry" } });
    expect(broken).toMatchObject({ status: "failed", exit_code: 1 });
    const failed = broken.checks.filter((c) => !c.pass).map((c) => c.name);
    console.log("clock-skew (wall-clock-expiry)", JSON.stringify(broken.checks.filter((c) => !c.pass).map((c) => c.actual)).slice(0, 1_500));
    expect(failed).toContain("step: probe clock skew");
  }, 300_000);
});
