import { probeConvergence } from "../../probes/convergence-probe.js";
import type { StepHandler } from "../run-context.js";

/** `Step.probeConvergence()`: how far the registry is from the live connections after a fault, and how soon it equals them. */
export const probeConvergenceStep: StepHandler<"probe_convergence"> = async (step, run, { index }) => {
  run.requireFleet();
  await probeConvergence(run.probeContext(index), { timeoutMs: step.timeoutMs, connectionTtlMs: run.runtime.connectionTtlMs });
};
