import { strandConnections } from "../../actions/strand-connections.js";
import type { StepHandler } from "../run-context.js";

/** `Step.strandConnections()`: probe connections that vanish without unregistering (cut, or their instance killed). */
export const strandConnectionsStep: StepHandler<"strand_connections"> = async (step, run, { index }) => {
  await strandConnections(run.probeContext(index), {
    count: step.count,
    how: step.how,
    // Through the fault runner, so the kill is an interval on the timeline like any other.
    kill: (id) => run.faults.run({ kind: "kill_instance", target: id, targets: [id] }, run.signal),
    // Until every record is gone, or for two TTLs: a gateway that does not reap leaves each record to its TTL, gone
    // by T after the kill, and the watch must read the registry after that to see the record outlive the reaping
    // bound (ttl-expiry judges it). It watched T + H once, which left a read window of about 0.5 s after the TTL:
    // a stall of the harness that long (stalls of 1.5 s are seen on a loaded machine) hid the record's fate, and the
    // check passed a gateway that never reaps. A gateway that reaps ends the watch at its reaping bound.
    watchMs: 2 * run.profile.connectionTtlMs,
  });
};
