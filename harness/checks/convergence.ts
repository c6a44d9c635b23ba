import { eventsOf } from "../events/run-events.js";
import type { Check } from "./check.js";

/**
 * `convergence`: after every Redis-wide fault that a `Step.probeConvergence()` measured (a failover), the registry
 * equals the fleet's live connections, and every live instance serves lookups again, within `convergenceBoundMs`
 * of the fault's end. The default bound is one
 * connection TTL plus one heartbeat: a write the failover lost (a registration, an index entry) is written again
 * by the holding gateway's next heartbeat or reconnect, but a lost unregister leaves a record that only its TTL
 * removes. Fails when no such fault was measured: a check with nothing to judge gates nothing.
 */
export const convergence: Check = async (context) => {
  const t0 = Date.now();
  const bound = context.thresholds.convergenceBoundMs ?? context.connectionTtlMs + context.heartbeatIntervalMs;
  const measured = eventsOf(context.events, "probe", "registry_convergence");
  const judged = measured.filter((e) => e.fault_id !== null);
  const late = judged.filter((e) => e.converged_after_ms === null || e.converged_after_ms > bound);
  return {
    name: "convergence",
    pass: judged.length > 0 && late.length === 0,
    expected: { registry_equals_live_connections_within_ms: bound, after: "each measured fault's end" },
    actual: {
      faults: judged.map((e) => ({
        fault_id: e.fault_id,
        kind: e.fault_kind,
        converged_after_ms: e.converged_after_ms,
        records_lost: e.first?.missing ?? null,
        records_left_behind: e.first?.ghosts ?? null,
      })),
    },
    evidence: {
      late: late.map((e) => ({ fault_id: e.fault_id, first: e.first, last: e.last, lookup_status_by_instance: e.lookup_status_by_instance, unrefreshed_records: e.unrefreshed_records })),
      ...(judged.length === 0 ? { reason: measured[0]?.reason ?? "no Step.probeConvergence() after a fault" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};
