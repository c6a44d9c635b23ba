import { probeLookups } from "../../probes/lookup-probe.js";
import { flushEvents } from "../flush-events.js";
import type { StepHandler } from "../run-context.js";

/** `Step.probeLookups()`: looks up live connections from every instance and routes across instances. */
export const probeLookupsStep: StepHandler<"probe_lookups"> = async (step, run, { index }) => {
  // The probe samples live connections from the recorded history: it must hold every event the fleet has counted.
  await flushEvents(run.requireFleet(), run.recorder);
  await probeLookups(run.probeContext(index), { maxConnections: step.maxConnections });
};
