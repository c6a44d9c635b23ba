import { deriveSeed, SeededRandom } from "../common/random.js";
import { HarnessError } from "../errors.js";
import type { Fault } from "../faults/fault.js";
import type { ResolvedProfile } from "./define-scenario.js";
import type { PlannedStep, Step } from "./step.js";

/**
 * Makes every seeded choice of a schedule up front: which instance each fault hits and how long each jittered
 * hold lasts. Same steps, instance count and seed → the same plan. Instance states are simulated so that
 * `"random"` picks a running instance, `"distinct"` one no earlier fault picked, and `"down"` a stopped one.
 */
export function planSteps(steps: readonly Step[], profile: ResolvedProfile, seed: number): PlannedStep[] {
  const random = new SeededRandom(deriveSeed(seed, "schedule"));
  const ids = Array.from({ length: profile.instances }, (_, i) => `gw-${i + 1}`);
  const down = new Set<string>();
  const picked = new Set<string>();
  const choose = (candidates: string[], selector: string): string => {
    if (candidates.length === 0) throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `no instance left for selector ${JSON.stringify(selector)} among ${ids.length} instance(s)`);
    const id = random.pick(candidates);
    picked.add(id);
    return id;
  };
  const resolve = (fault: Fault): string[] => {
    if (!("target" in fault)) return fault.kind === "rolling_restart" ? random.shuffle(ids) : [];
    const selector = fault.target;
    const up = ids.filter((id) => !down.has(id));
    switch (selector) {
      case "all":
        return [...ids];
      case "random":
        return [choose(up, selector)];
      case "distinct":
        return [choose(up.filter((id) => !picked.has(id)), selector)];
      case "down":
        return [choose(ids.filter((id) => down.has(id)), selector)];
      default:
        if (!ids.includes(selector)) throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `fault target ${JSON.stringify(selector)} is not one of ${ids.join(", ")}`);
        picked.add(selector);
        return [selector];
    }
  };
  return steps.map((step): PlannedStep => {
    if (step.kind === "hold") return { kind: "hold", ms: step.ms + (step.jitterMs > 0 ? random.int(step.jitterMs + 1) : 0) };
    if (step.kind !== "fault") return step;
    const targets = resolve(step.fault);
    if (step.fault.kind === "kill_instance" || step.fault.kind === "stop_instance") for (const id of targets) down.add(id);
    if (step.fault.kind === "start_instance") for (const id of targets) down.delete(id);
    return { kind: "fault", fault: { ...step.fault, targets }, background: step.background };
  });
}
