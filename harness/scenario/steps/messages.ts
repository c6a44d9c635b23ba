import type { StepHandler } from "../run-context.js";

/** `Step.messages(perSecond)`: sets the fleet's route rate. */
export const messagesStep: StepHandler<"messages"> = async (step, run) => {
  await run.requireFleet().setMessageRate(step.perSecond);
};
