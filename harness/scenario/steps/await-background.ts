import type { StepHandler } from "../run-context.js";

/** `Step.awaitBackground()`: waits for every background fault and load; a background load's harness error then fails the run. */
export const awaitBackgroundStep: StepHandler<"await_background"> = async (_step, run) => {
  await run.background.awaitAll();
};
