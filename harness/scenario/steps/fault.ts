import { requiredCapability, type Fault } from "../../faults/fault.js";
import type { RuntimeCapabilities } from "../../runtime/runtime.js";
import type { StepHandler } from "../run-context.js";

/**
 * The runtime capability a fault needs beyond the common ones (kill, stop, start, restart, proxy toxics), if it
 * lacks it; `undefined` when the runtime can run it.
 */
export function unsupportedFault(fault: Fault, capabilities: RuntimeCapabilities): keyof RuntimeCapabilities | undefined {
  const needed = requiredCapability(fault);
  return needed !== undefined && !capabilities[needed] ? needed : undefined;
}

/** `Step.fault(f)`: injects a fault through the fault runner; waits for its end unless `background`. */
export const faultStep: StepHandler<"fault"> = async (step, run) => {
  if (step.background) {
    // Its own signal besides teardown's, so that a probe done with the fault can heal it early (endFaults).
    const early = new AbortController();
    run.background.addFault(step.fault.kind, run.faults.run(step.fault, AbortSignal.any([run.backgroundSignal, early.signal])), () => early.abort());
  } else {
    await run.faults.run(step.fault, run.signal);
  }
};
