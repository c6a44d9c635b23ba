import type { StepHandler } from "../run-context.js";

/** `Step.phase(name)`: starts a named phase (shown live and in reports). */
export const phaseStep: StepHandler<"phase"> = async (step, run) => {
  await run.reporters.emit("onPhase", run.recorder.startPhase(step.name));
};
