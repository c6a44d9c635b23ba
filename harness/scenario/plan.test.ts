import { describe, expect, it } from "vitest";
import { Fault } from "../faults/fault.js";
import { defineScenario, type ScenarioDefinition } from "./define-scenario.js";
import { planScenario } from "./engine.js";
import { Step } from "./step.js";

const THRESHOLDS = { reconnectBoundMs: 1_000, settleBoundMs: 1_000, minDeliveryRatio: 0.9 };

const scenario: ScenarioDefinition = defineScenario({
  name: "plan-sample",
  description: "a schedule with seeded choices",
  checks: ["delivery"],
  profiles: {
    ci: { instances: 5, clients: 10, durationS: 1, messageRatePerSecond: 1, thresholds: THRESHOLDS },
    release: { instances: 5, clients: 10, durationS: 1, messageRatePerSecond: 1, thresholds: THRESHOLDS },
  },
  steps: () => [
    Step.connectFleet(),
    Step.hold(1_000, { jitterMs: 5_000 }),
    Step.fault(Fault.killInstance("distinct")),
    Step.fault(Fault.stopInstance("distinct")),
    Step.fault(Fault.startInstance("down")),
    Step.fault(Fault.partition({ target: "random", durationMs: 100 })),
    Step.fault(Fault.rollingRestart()),
  ],
});

describe("planScenario", () => {
  it("should give the same schedule for the same seed", () => {
    expect(planScenario({ scenario, seed: 42 })).toEqual(planScenario({ scenario, seed: 42 }));
  });

  it("should change the schedule with the seed", () => {
    const plans = new Set(Array.from({ length: 8 }, (_, seed) => JSON.stringify(planScenario({ scenario, seed }))));
    expect(plans.size).toBeGreaterThan(1);
  });

  it("should pick distinct instances and start only a stopped one", () => {
    for (let seed = 0; seed < 50; seed++) {
      const plan = planScenario({ scenario, seed });
      const targets = plan.flatMap((step) => (step.kind === "fault" ? [step.fault.targets] : []));
      const [killed, stopped, started] = targets as [string[], string[], string[]];
      expect(killed[0]).not.toBe(stopped[0]);
      expect([killed[0], stopped[0]]).toContain(started[0]);
      expect(targets[4]!.slice().sort()).toEqual(["gw-1", "gw-2", "gw-3", "gw-4", "gw-5"]);
    }
  });

  it("should reject a fault target the topology does not have", () => {
    const broken = { ...scenario, steps: () => [Step.connectFleet(), Step.fault(Fault.killInstance("gw-9"))] };
    expect(() => planScenario({ scenario: broken, seed: 1 })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_SCENARIO" }));
  });
});

describe("defineScenario", () => {
  it("should reject impossible profiles and missing fleet steps", () => {
    const base = { ...scenario, name: "bad" };
    expect(() => defineScenario({ ...base, profiles: { ...base.profiles, ci: { ...base.profiles.ci, clients: 0 } } })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_SCENARIO" }));
    expect(() => defineScenario({ ...base, steps: () => [Step.hold(1)] })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_SCENARIO" }));
    expect(() => defineScenario({ ...base, name: "Bad Name" })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_SCENARIO" }));
  });
});
