import { compareRegistry, isClean, strandedIds, type RegistryComparison } from "../checks/no-ghosts.js";
import { retryUntil } from "../common/retry.js";
import { eventsOf } from "../events/run-events.js";
import { httpProbe, tenantToken } from "./probe-io.js";
import { liveConnections, type ProbeContext } from "./probe-context.js";

const POLL_INTERVAL_MS = 100;

function counts(comparison: RegistryComparison) {
  const sum = (families: Record<string, string[]>) => Math.max(0, ...Object.values(families).map((ids) => ids.length));
  return {
    live: comparison.live,
    records: comparison.records,
    // Per family the counts differ (a lost index write vs a lost record): the worst family is the figure.
    missing: sum(comparison.missing),
    ghosts: sum(comparison.ghosts),
    misplaced: comparison.misplaced.length,
    duplicates: comparison.duplicates.length,
  };
}

/**
 * After a Redis-wide fault (the latest `fault_end` so far, e.g. a failover): compares the registry with the fleet's
 * live connections at once (what the fault lost or left behind), then polls until they are equal, every record has
 * been refreshed by its holder since the fault ended (`expires_at` at least the fault's end plus `connectionTtlMs`:
 * the holder writes to the Redis that now serves, not merely reads what replication left there), and every live
 * instance serves a lookup of a live connection again (200), at most `timeoutMs`. Records `registry_convergence`;
 * the `convergence` check judges it.
 */
export async function probeConvergence(context: ProbeContext, options: { timeoutMs: number; connectionTtlMs: number }): Promise<void> {
  const fault = eventsOf(context.events, "fault", "fault_end").at(-1);
  if (!fault) {
    context.record({ type: "registry_convergence", fault_id: null, fault_kind: null, fault_end: null, first: null, converged_after_ms: null, last: null, lookup_status_by_instance: {}, unrefreshed_records: 0, reason: "no fault has ended before this step" });
    return;
  }
  let first: RegistryComparison | undefined;
  let last: RegistryComparison | undefined;
  let convergedAt: number | undefined;
  let serving: Record<string, number> = {};
  let unrefreshed = 0;
  await retryUntil(
    async () => {
      const state = await context.registry.read();
      last = compareRegistry(context.events, state, strandedIds(context.events));
      first ??= last;
      unrefreshed = state.records.filter((r) => !(Number(r.fields.expires_at) >= fault.t + options.connectionTtlMs)).length;
      const victim = liveConnections(context.events)[0];
      serving = {};
      if (victim) {
        const token = tenantToken(context.authSecret, victim.tenant_id);
        const path = `/v1/connections/${encodeURIComponent(victim.websocket_id)}`;
        await Promise.all(context.liveInstances().map(async (i) => (serving[i.id] = (await httpProbe(`${i.httpUrl}${path}`, { token })).status)));
      }
      return last;
    },
    (comparison) => comparison.live > 0 && isClean(comparison) && unrefreshed === 0 && Object.values(serving).every((status) => status === 200),
    () => new Error("not converged"),
    { timeoutMs: options.timeoutMs, intervalMs: POLL_INTERVAL_MS, ...(context.signal ? { signal: context.signal } : {}) },
  )
    .then(() => (convergedAt = Date.now()))
    .catch((error: unknown) => {
      if ((error as { code?: string }).code === "HARNESS_ERR_ABORTED") throw error;
    });
  context.record({
    type: "registry_convergence",
    fault_id: fault.fault_id,
    fault_kind: fault.kind,
    fault_end: fault.t,
    first: first ? counts(first) : null,
    converged_after_ms: convergedAt === undefined ? null : Math.max(0, convergedAt - fault.t),
    last: last ? counts(last) : null,
    lookup_status_by_instance: serving,
    unrefreshed_records: unrefreshed,
  });
}
