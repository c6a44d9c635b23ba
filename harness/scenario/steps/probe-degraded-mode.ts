import { probeDegradedMode } from "../../probes/degraded-mode-probe.js";
import type { StepHandler } from "../run-context.js";

/** `Step.probeDegradedMode()`: lookups during a background Redis partition, then reconciliation after it heals. */
export const probeDegradedModeStep: StepHandler<"probe_degraded_mode"> = async (step, run, { index }) => {
  run.requireFleet();
  await probeDegradedMode(run.probeContext(index), {
    rounds: step.rounds,
    reconcileTimeoutMs: step.reconcileTimeoutMs,
    noReapForMs: step.noReapForMs,
    metricsPath: run.sut.metricsPath,
  });
};
