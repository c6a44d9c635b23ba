import { describe, expect, it } from "vitest";
import packetLoss from "../../scenarios/packet-loss.js";
import { checkOf, expectFailedBy, expectPassed, faultEnds, runCiScenario } from "../helpers/scenario-run.js";
import { networkNamespacesUnavailable } from "../../harness/runtime/network-namespaces.js";

const SEED = 11;

/**
 * `packet-loss` in its `ci` profile: every gateway in a network namespace of the run's own, loss, duplication and
 * reordering on one instance's link each. The reference gateway keeps every socket and record; a gateway whose pong
 * deadline is below TCP's minimum retransmission timeout (`short-pong-deadline`) closes sockets under loss.
 * Needs root with `ip`, `nft` and `tc` (as CI runs it); skipped with the reason otherwise.
 */
describe.skipIf(networkNamespacesUnavailable() !== undefined)("scenario packet-loss (ci profile)", { timeout: 120_000 }, () => {
  it("should pass: TCP hides loss, duplication and reordering from the application", async () => {
    const result = await runCiScenario(packetLoss, { seed: SEED });
    expectPassed(packetLoss, result);
    expect(faultEnds(result, "packet_fault").map((e) => [e.ok, e.detail?.form, e.detail?.percent])).toEqual([
      [true, "loss", 5],
      [true, "duplicate", 10],
      [true, "reorder", 10],
    ]);
    // Each fault did something to TCP on its instance (the check fails one that did not): retransmissions, D-SACKs,
    // packets held on the slow path.
    const each = (checkOf(result, "packet-faults").actual as { each: { form: string; tcp: Record<string, number> }[] }).each;
    expect(each.map((e) => [e.form, e.form === "loss" ? e.tcp.retransmitted : e.form === "duplicate" ? e.tcp.dsackSent! + e.tcp.dsackReceived! : e.tcp.heldBack]).every(([, n]) => (n as number) > 0)).toBe(true);
    expect(checkOf(result, "packet-faults").actual).toMatchObject({ faults: 3, failed: 0 });
  });

  // Faults of 4 s instead of the profile's 2: the defect shows only on a ping or pong that was lost, and in 2 s
  // windows the loss instance closed 3 to 7 sockets (mean 5.4, 8 runs), so none with a chance of about e^-5.4 = 0.5 %
  // (a fresh-clone CI run saw the defect pass that way). In 4 s windows it closed 7 to 16 (mean 13, 4
  // runs): none with a chance below 1e-5.
  it("should fail packet-faults under TRAFFIC_COP_DEFECTS=short-pong-deadline", async () => {
    const result = await runCiScenario(packetLoss, { seed: SEED, control: { defects: "short-pong-deadline" }, durationS: 4 });
    const failed = expectFailedBy(result, "packet-faults");
    const loss = (failed.actual as { each: { form: string; unasked_closes: number }[] }).each.find((e) => e.form === "loss");
    expect(loss?.unasked_closes).toBeGreaterThan(0);
  });
});
