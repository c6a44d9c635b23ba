import { describe, expect, it } from "vitest";
import pause from "../../scenarios/pause.js";
import { checkOf, expectFailedBy, expectPassed, faultEnds, runCiScenario } from "../helpers/scenario-run.js";

const SEED = 7;

/**
 * `pause` in its `ci` profile against the reference gateway: it passes every declared check, and fails
 * `pause-recovery` when the gateway does not write the records lost during a stall again. (`chaos`: scenario-chaos.test.ts.)
 */
describe.sequential("scenario pause (ci profile)", { timeout: 120_000 }, () => {
  it("pause should pass: the frozen instance's records go while it is frozen and come back after the wake", async () => {
    const result = await runCiScenario(pause, { seed: SEED });
    expectPassed(pause, result);
    expect(faultEnds(result, "freeze_instance")).toHaveLength(1);
    expect(checkOf(result, "pause-recovery").actual).toMatchObject({ freezes: 1, min_records_while_frozen: [0], silent_closes: 0, duplicate_receipts: 0 });
  });

  it("pause should fail pause-recovery under TRAFFIC_COP_DEFECTS=no-rewake-reregister", async () => {
    const result = await runCiScenario(pause, { seed: SEED, control: { defects: "no-rewake-reregister" } });
    const failed = expectFailedBy(result, "pause-recovery");
    expect(failed.actual).toMatchObject({ recovered_after_ms: [null] });
  });
});
