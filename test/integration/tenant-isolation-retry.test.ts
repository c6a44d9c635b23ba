import { describe, expect, it } from "vitest";
import { Fault } from "../../harness/faults/fault.js";
import { defineScenario } from "../../harness/scenario/define-scenario.js";
import { Step } from "../../harness/scenario/step.js";
import { checkOf, runCiScenario } from "../helpers/scenario-run.js";

const SEED = 5;
const PROFILE = { instances: 2, clients: 8, durationS: 0.5, messageRatePerSecond: 10, thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 8_000, minDeliveryRatio: 0.9 } };

/**
 * The tenant-isolation probe with every instance cut off from Redis (connections reset: lookups, routes and connects
 * answered 503 `REGISTRY_UNAVAILABLE` at once, as on a machine whose Redis stalls) from its first attempt on, for
 * `cutMs`.
 */
function probeDuringCut(cutMs: number) {
  return defineScenario({
    name: "tenants-cut",
    description: "the tenant-isolation probe while Redis is unreachable for a moment (test fixture)",
    checks: ["tenant-isolation"],
    profiles: { ci: PROFILE, release: PROFILE },
    steps: () => [
      Step.connectFleet({ timeoutMs: 10_000 }),
      Step.writeSessionState(),
      Step.fault(Fault.partition({ target: "all", durationMs: cutMs }), { background: true }),
      Step.probeTenantIsolation({ victims: 2 }),
      Step.awaitBackground(),
    ],
  });
}

describe("tenant-isolation when the registry is unavailable for a moment", { timeout: 60_000 }, () => {
  it("should ask again through a 1 s cut and pass: an answer that never reached the registry is no leak", async () => {
    const result = await runCiScenario(probeDuringCut(1_000), { seed: SEED });
    const check = checkOf(result, "tenant-isolation");
    expect(check.pass, JSON.stringify(check)).toBe(true);
    expect(check.actual).toMatchObject({ leaks: 0, inconclusive: 0, deliveries: 0, writes: 0 });
    expect((check.actual as { retried: number }).retried).toBeGreaterThan(0);
  });

  it("should judge answers still unavailable after 2 s as answered: inconclusive, never a leak", async () => {
    const result = await runCiScenario(probeDuringCut(4_000), { seed: SEED });
    const check = checkOf(result, "tenant-isolation");
    expect(check.pass).toBe(false);
    expect(check.actual).toMatchObject({ leaks: 0 });
    expect((check.actual as { inconclusive: number }).inconclusive).toBeGreaterThan(0);
  });
});
