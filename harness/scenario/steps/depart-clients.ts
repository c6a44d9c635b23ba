import { departClients } from "../../actions/depart-clients.js";
import { deriveSeed } from "../../common/random.js";
import type { StepHandler } from "../run-context.js";

/** `Step.departClients()`: clients of their own connect, then leave for good (close, terminate or kill). */
export const departClientsStep: StepHandler<"depart_clients"> = async (step, run, { index }) => {
  await departClients(run.probeContext(index), {
    kind: step.departure,
    count: step.count,
    observeMs: step.observeMs,
    targets: run.runtime.targets(),
    seed: deriveSeed(run.seed, `depart-${index}`),
    // Unique per step, and apart from the main fleet's `f<seed>` prefix.
    idPrefix: `d${index}-${step.departure}`,
  });
};
