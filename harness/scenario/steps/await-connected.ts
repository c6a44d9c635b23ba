import type { StepHandler } from "../run-context.js";

/** `Step.awaitConnected()`: waits until every client is connected again. */
export const awaitConnectedStep: StepHandler<"await_connected"> = async (step, run) => {
  await run.requireFleet().waitForConnected(run.profile.clients, step.timeoutMs);
};
