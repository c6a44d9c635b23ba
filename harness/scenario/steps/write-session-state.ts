import { writeSessionState } from "../../actions/write-session-state.js";
import type { StepHandler } from "../run-context.js";

/** `Step.writeSessionState()`: writes state into every fleet session (read back by `restart-survival`). */
export const writeSessionStateStep: StepHandler<"write_session_state"> = async (step, run, { index }) => {
  run.requireFleet();
  await writeSessionState(run.probeContext(index), { fieldsPerSession: step.fieldsPerSession });
};
