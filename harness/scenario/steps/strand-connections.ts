import { strandConnections } from "../../actions/strand-connections.js";
import type { StepHandler } from "../run-context.js";

/** `Step.strandConnections()`: probe connections that vanish without unregistering (cut, or their instance killed). */
export const strandConnectionsStep: StepHandler<"strand_connections"> = async (step, run, { index }) => {
  await strandConnections(run.probeContext(index), {
    count: step.count,
    how: step.how,
    // Through the fault runner, so the kill is an interval on the timeline like any other.
    kill: (id) => run.faults.run({ kind: "kill_instance", target: id, targets: [id] }, run.signal),
    // Up to the TTL fallback's bound: long enough to see a record outlive the reaping bound, ttl-expiry judges it.
    watchMs: run.profile.connectionTtlMs + run.profile.heartbeatIntervalMs,
  });
};
