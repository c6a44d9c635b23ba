import { describe, expect, it } from "vitest";
import chaos from "../../scenarios/chaos.js";
import { runtimeCapabilities } from "../runtime/create-runtime.js";
import { CHAOS_FAULTS, drawChaosSchedule, type ChaosFaultEntry, type ChaosSchedule } from "./chaos-schedule.js";
import { planScenario, resolveRunProfile } from "./engine.js";
import { Fault } from "../faults/fault.js";
import { Step, type PlannedStep } from "./step.js";

const LOCAL = runtimeCapabilities("local", "standalone");
const CONTAINERS = runtimeCapabilities("containers", "standalone");

function scheduleOf(plan: PlannedStep[]): ChaosSchedule {
  const step = plan.find((s) => s.kind === "record_schedule");
  if (!step || step.kind !== "record_schedule") throw new Error("no schedule in the plan");
  return step.schedule as unknown as ChaosSchedule;
}

describe("chaos schedule", () => {
  it("should give the same plan and schedule for the same seed, profile and runtime", () => {
    for (const profile of ["ci", "release"] as const) {
      for (const seed of [1, 42, 2_147_483_000]) {
        expect(planScenario({ scenario: chaos, profile, seed })).toEqual(planScenario({ scenario: chaos, profile, seed }));
      }
    }
  });

  it("should change the schedule with the seed", () => {
    const schedules = new Set(Array.from({ length: 10 }, (_, seed) => JSON.stringify(scheduleOf(planScenario({ scenario: chaos, seed })).entries)));
    expect(schedules.size).toBeGreaterThan(8);
  });

  it("should draw every group in ci and every entry in release, within the budget after the covering draws", () => {
    const runnable = (e: ChaosFaultEntry) => e.needs === undefined || LOCAL[e.needs] === true;
    // ci leaves the long draws (a rolling deploy of every instance, a clock skew's restart and observation, stale
    // links held past their recovery bound) to release.
    const tooLongForCi = ["rolling-deploy", "stale-links", "clock-skew"];
    const groups = [...new Set(CHAOS_FAULTS.filter((e) => runnable(e) && !tooLongForCi.includes(e.name)).map((e) => e.group))].sort();
    for (let seed = 0; seed < 30; seed++) {
      const ci = scheduleOf(planScenario({ scenario: chaos, seed }));
      expect([...new Set(ci.entries.map((e) => e.group))].sort()).toEqual(groups);
      expect(ci.entries.every((e) => e.budget_ms <= 9_000)).toBe(true);
      expect(ci.skipped.map((e) => e.name)).toEqual(["rolling-deploy", "partition-network", ...(LOCAL.packetFaults ? [] : ["packets"]), "stale-links", "clock-skew", "redis-failover"]);
      const release = scheduleOf(planScenario({ scenario: chaos, profile: "release", seed }));
      const names = new Set(release.entries.map((e) => e.name));
      for (const entry of CHAOS_FAULTS) expect(names.has(entry.name), entry.name).toBe(runnable(entry));
      expect(release.planned_ms).toBeLessThanOrEqual(release.budget_ms);
      expect(release.entries.length).toBeGreaterThan(CHAOS_FAULTS.length);
    }
  });

  it("should leave out what the runtime cannot do, and say so in the schedule", () => {
    const local = scheduleOf(planScenario({ scenario: chaos, profile: "release", seed: 7 }));
    // Packet faults need network namespaces: root, `ip`, `nft` and `tc` (CI has them).
    expect(local.skipped).toEqual([
      { name: "partition-network", needs: "networkPartition", reason: expect.stringContaining("networkPartition") },
      ...(LOCAL.packetFaults ? [] : ["packets", "stale-links"].map((name) => ({ name, needs: "packetFaults", reason: expect.stringContaining("packetFaults") }))),
      { name: "redis-failover", needs: "redisFailover", reason: expect.stringContaining("redisFailover") },
    ]);
    expect(local.entries.some((e) => e.name === "partition-network")).toBe(false);
    const containers = scheduleOf(planScenario({ scenario: chaos, profile: "release", seed: 7, runtime: "containers" }));
    // On containers too, packet faults need root and the tools (containerLinksUnavailable).
    const packets = runtimeCapabilities("containers", "standalone").packetFaults ? ["packets", "stale-links"] : [];
    expect(containers.skipped.map((e) => e.name)).toEqual([...(packets.length > 0 ? [] : ["packets", "stale-links"]), "redis-failover"]);
    for (const name of ["partition-network", "client-latency", "client-blackhole", "clock-skew", ...packets]) expect(containers.entries.some((e) => e.name === name)).toBe(true);
    const noPause = drawChaosSchedule({ seed: 7, profile: resolveRunProfile({ scenario: chaos }), capabilities: { ...LOCAL, pause: false, redisRestart: false }, budgetMs: 60_000, coverage: "entries", gapMs: [0, 0] });
    expect(noPause.schedule.skipped.map((s) => s.name).sort()).toEqual(["freeze", "partition-network", "redis-failover", "redis-restart"]);
  });

  it("should bound every fault in time and mark each draw with a phase", () => {
    const plan = planScenario({ scenario: chaos, profile: "release", seed: 3, runtime: "containers" });
    for (const step of plan) {
      if (step.kind !== "fault") continue;
      const fault = step.fault;
      if ("durationMs" in fault) expect(fault.durationMs).toBeLessThanOrEqual(60_000);
      else expect(["restart_instance", "rolling_restart", "redis_restart"]).toContain(fault.kind);
    }
    const phases = plan.filter((s) => s.kind === "phase" && s.name.startsWith("chaos-"));
    expect(phases.length).toBe(scheduleOf(plan).entries.length);
    expect(CONTAINERS.networkPartition).toBe(true);
  });

  it("should take a new fault kind as one entry of the pool", () => {
    const extra: ChaosFaultEntry = {
      name: "tiny-latency",
      group: "link",
      weight: 1,
      draw: () => ({ steps: [Step.fault(Fault.latency({ latencyMs: 1, durationMs: 100 }))], params: {}, budgetMs: 100 }),
    };
    const { schedule, steps } = drawChaosSchedule({ seed: 5, profile: resolveRunProfile({ scenario: chaos }), capabilities: LOCAL, budgetMs: 2_000, coverage: "entries", gapMs: [10, 20], pool: [extra] });
    expect(schedule.entries[0]).toMatchObject({ index: 1, name: "tiny-latency", group: "link" });
    expect(steps[0]!.map((s) => s.kind)).toEqual(["hold", "phase", "fault"]);
    expect(schedule.planned_ms).toBeLessThanOrEqual(2_000);
  });
});
