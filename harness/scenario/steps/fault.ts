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
    run.background.add(run.faults.run(step.fault, run.backgroundSignal));
  } else {
    await run.faults.run(step.fault, run.signal);
  }
};
