import { DEFAULT_DEGRADED_LOOKUP_BOUND_MS, firstOf, type Check } from "./check.js";

/**
 * `degraded-mode`: while Redis is unreachable through the proxy (a `partition` fault), the fleet's sockets on
 * the partitioned instances stay open (no unexpected disconnect during the interval), lookups on them fail with
 * 503 `REGISTRY_UNAVAILABLE` within `degradedLookupBoundMs` (`Step.probeDegradedMode()`), and after the heal the
 * registry equals the live connections within `settleBoundMs`.
 */
export const degradedMode: Check = async (context) => {
  const t0 = Date.now();
  const bound = context.thresholds.degradedLookupBoundMs ?? DEFAULT_DEGRADED_LOOKUP_BOUND_MS;
  const reconcileBound = context.thresholds.settleBoundMs;
  const partitions = context.events
    .filter((e) => e.source === "fault" && e.type === "fault_start" && e.kind === "partition")
    .map((start) => ({ start, end: context.events.find((e) => e.source === "fault" && e.type === "fault_end" && e.fault_id === start.fault_id) }));
  const failures: Record<string, unknown>[] = [];
  let dropped = 0;
  for (const { start, end } of partitions) {
    const targets = new Set(start.targets as string[]);
    const until = end?.t ?? Date.now();
    for (const e of context.events) {
      if (e.source === "fleet" && e.type === "disconnect" && e.expected !== true && e.t >= start.t && e.t <= until && targets.has(e.instance_id as string)) {
        dropped++;
        failures.push({ reason: "socket closed during the partition", client: e.client, instance_id: e.instance_id, close_code: e.close_code, fault_id: start.fault_id });
      }
    }
  }
  const lookups = context.events.filter((e) => e.source === "probe" && e.type === "degraded_lookup" && e.during === true);
  for (const l of lookups) {
    if (l.status !== 503 || l.code !== "REGISTRY_UNAVAILABLE") failures.push({ reason: "lookup did not fail with REGISTRY_UNAVAILABLE", via: l.via, kind: l.kind, status: l.status, code: l.code });
    else if ((l.latency_ms as number) > bound) failures.push({ reason: "lookup failed too slowly", via: l.via, kind: l.kind, latency_ms: l.latency_ms });
  }
  const reconciles = context.events.filter((e) => e.source === "probe" && e.type === "degraded_reconcile");
  for (const r of reconciles) {
    const after = r.reconciled_after_ms as number | null;
    if (after === null || after > reconcileBound) failures.push({ reason: "registry not reconciled with the live connections in time", fault_id: r.fault_id, reconciled_after_ms: after, last: r.last });
  }
  const skipped = context.events.filter((e) => e.source === "probe" && e.type === "degraded_probe_skipped");
  const exercised = partitions.length > 0 && lookups.length > 0 && reconciles.length > 0;
  const latencies = lookups.map((l) => l.latency_ms as number);
  return {
    name: "degraded-mode",
    pass: exercised && failures.length === 0,
    expected: { sockets_closed_during_partition: 0, lookups_fail_with: "503 REGISTRY_UNAVAILABLE", lookup_fail_within_ms: bound, reconciled_within_ms: reconcileBound },
    actual: {
      partitions: partitions.length,
      sockets_closed_during_partition: dropped,
      lookups_during_partition: lookups.length,
      lookup_max_ms: latencies.length > 0 ? Math.max(...latencies) : null,
      reconciled_after_ms: reconciles.map((r) => r.reconciled_after_ms),
      failures: failures.length,
    },
    evidence: {
      failures: firstOf(failures),
      ...(exercised ? {} : { reason: skipped.length > 0 ? (skipped[0]!.reason as string) : "no partition with Step.probeDegradedMode() during it" }),
    },
    duration_ms: Date.now() - t0,
  };
};
