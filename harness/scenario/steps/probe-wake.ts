import { probeWake } from "../../probes/pause-probe.js";
import type { StepHandler } from "../run-context.js";

/** `Step.probeWake()`: the frozen instance's records while it is frozen, then the registry's recovery after the wake. */
export const probeWakeStep: StepHandler<"probe_wake"> = async (step, run, { index }) => {
  run.requireFleet();
  await probeWake(run.probeContext(index), { recoverTimeoutMs: step.recoverTimeoutMs });
};
