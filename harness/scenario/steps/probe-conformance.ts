import { probeConformance } from "../../probes/conformance-probe.js";
import { flushEvents } from "../flush-events.js";
import type { StepHandler } from "../run-context.js";

/**
 * `Step.probeConformance()`: probes promises of docs/protocol.md from every instance; the partition and drain
 * promises go on in the background (awaited with the other background tasks, before the checks).
 */
export const probeConformanceStep: StepHandler<"probe_conformance"> = async (step, run, { index }) => {
  // Tenant isolation samples its victims from the recorded history: it must hold every event the fleet has counted.
  await flushEvents(run.requireFleet(), run.recorder);
  const { background } = await probeConformance(run.probeContext(index), { promises: step.promises, victims: step.victims, backgroundSignal: run.backgroundSignal });
  if (background) run.background.add(background.catch((error: unknown) => (run.aborted() ? undefined : run.background.fail(error))));
};
