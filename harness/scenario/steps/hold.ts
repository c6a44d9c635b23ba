import type { StepHandler } from "../run-context.js";

/** `Step.hold(ms)`: lets the planned time pass under the current load. */
export const holdStep: StepHandler<"hold"> = async (step, run) => {
  await run.clock.sleep(step.ms, run.signal);
};
