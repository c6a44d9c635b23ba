import { eventsOf, healStart } from "../events/run-events.js";
import { explainingStall, judgeOwnLatency } from "../recorder/loop-stalls.js";
import { DEFAULT_DEGRADED_LOOKUP_BOUND_MS, firstOf, type Check } from "./check.js";

/**
 * `degraded-mode`: while Redis is unreachable through the proxy (a `partition` fault), the fleet's sockets on
 * the partitioned instances stay open (no unexpected disconnect during the interval), lookups on them fail with
 * 503 `REGISTRY_UNAVAILABLE` within `degradedLookupBoundMs` (`Step.probeDegradedMode()`), and after the heal the
 * registry equals the live connections within `settleBoundMs`. Where the probe was told that every instance met the
 * outage before any liveness lapsed (`noReapForMs`, after a staggered partition), no instance may have reaped
 * another: a reaped record there is a live connection's, taken for dead. A socket closed without a code right after a process
 * carrying its link (the proxy server with client proxies, or its fleet worker) stood still for a heartbeat period
 * is listed apart, not counted: the gateway rightly took it for half-open (`explainingStall`). So is a lookup that
 * took longer than the bound only by the time the harness's own loop stood still while it waited (`judgeOwnLatency`):
 * the harness measures the latency, and read the answer only once its loop ran again.
 */
export const degradedMode: Check = async (context) => {
  const t0 = Date.now();
  const bound = context.thresholds.degradedLookupBoundMs ?? DEFAULT_DEGRADED_LOOKUP_BOUND_MS;
  const reconcileBound = context.thresholds.settleBoundMs;
  const ends = eventsOf(context.events, "fault", "fault_end");
  const partitions = eventsOf(context.events, "fault", "fault_start")
    .filter((e) => e.kind === "partition")
    .map((start) => ({ start, end: ends.find((e) => e.fault_id === start.fault_id) }));
  const failures: Record<string, unknown>[] = [];
  const excused: Record<string, unknown>[] = [];
  const stalls = eventsOf(context.events, "probe", "harness_stall");
  let dropped = 0;
  for (const { start, end } of partitions) {
    const targets = new Set(start.targets);
    const until = end?.t ?? Date.now();
    for (const e of eventsOf(context.events, "fleet", "disconnect")) {
      if (!e.expected && e.t >= start.t && e.t <= until && e.instance_id !== undefined && targets.has(e.instance_id)) {
        const close = { client: e.client, instance_id: e.instance_id, close_code: e.close_code, fault_id: start.fault_id };
        // Terminated for a pong the harness itself held up (harness/recorder/loop-stalls.ts): not the gateway's doing.
        const stall = e.close_code === 1006 ? explainingStall(stalls, e.t, context.heartbeatIntervalMs, e.worker) : undefined;
        if (stall) {
          excused.push({ ...close, harness_stall: { from: stall.from, duration_ms: stall.duration_ms, ...(stall.worker !== undefined ? { worker: stall.worker } : {}) } });
          continue;
        }
        dropped++;
        failures.push({ reason: "socket closed during the partition", ...close });
      }
    }
  }
  // A lookup answered after the heal began may rightly have found Redis back (the heal of one target after another
  // takes a proxy API call each, and fault_end comes only after the last): only those answered before it are judged.
  const healStarts = new Map(ends.map((e) => [e.fault_id, healStart(e)]));
  const during = eventsOf(context.events, "probe", "degraded_lookup").filter((e) => e.during);
  const lookups = during.filter((e) => e.t < (healStarts.get(e.fault_id) ?? Infinity));
  const slowExcused: Record<string, unknown>[] = [];
  for (const l of lookups) {
    if (l.status !== 503 || l.code !== "REGISTRY_UNAVAILABLE") failures.push({ reason: "lookup did not fail with REGISTRY_UNAVAILABLE", via: l.via, kind: l.kind, status: l.status, code: l.code });
    else {
      // The event is recorded as the answer is read: the request spanned [t - latency, t].
      const { late, excused, heldMs } = judgeOwnLatency(stalls, l.t - l.latency_ms, l.latency_ms, bound);
      const lookup = { via: l.via, kind: l.kind, latency_ms: l.latency_ms };
      if (excused) slowExcused.push({ ...lookup, harness_stalled_ms: heldMs });
      else if (late) failures.push({ reason: "lookup failed too slowly", ...lookup, ...(heldMs > 0 ? { harness_stalled_ms: heldMs } : {}) });
    }
  }
  const reconciles = eventsOf(context.events, "probe", "degraded_reconcile");
  for (const r of reconciles) {
    const after = r.reconciled_after_ms;
    if (after === null || after > reconcileBound) failures.push({ reason: "registry not reconciled with the live connections in time", fault_id: r.fault_id, reconciled_after_ms: after, last: r.last });
    // An outage every instance met before any liveness lapsed: no instance was dead, and none may be reaped.
    if ((r.reaped_records ?? 0) > 0) {
      failures.push({ reason: "an instance reaped another after an outage every instance met before any liveness lapsed", fault_id: r.fault_id, reaped_records: r.reaped_records, within_ms_of_heal: r.no_reap_for_ms });
    }
  }
  const reapJudged = reconciles.filter((r) => r.reaped_records !== undefined);
  const skipped = eventsOf(context.events, "probe", "degraded_probe_skipped");
  const exercised = partitions.length > 0 && lookups.length > 0 && reconciles.length > 0;
  const latencies = lookups.map((l) => l.latency_ms);
  return {
    name: "degraded-mode",
    pass: exercised && failures.length === 0,
    expected: { sockets_closed_during_partition: 0, lookups_fail_with: "503 REGISTRY_UNAVAILABLE", lookup_fail_within_ms: bound, reconciled_within_ms: reconcileBound },
    actual: {
      partitions: partitions.length,
      sockets_closed_during_partition: dropped,
      closes_explained_by_harness_stalls: excused.length,
      slow_lookups_explained_by_harness_stalls: slowExcused.length,
      lookups_during_partition: lookups.length,
      lookups_answered_after_heal_began: during.length - lookups.length,
      lookup_max_ms: latencies.length > 0 ? Math.max(...latencies) : null,
      reconciled_after_ms: reconciles.map((r) => r.reconciled_after_ms),
      ...(reapJudged.length > 0 ? { records_reaped_after_shared_outage: reapJudged.map((r) => r.reaped_records ?? null) } : {}),
      failures: failures.length,
    },
    evidence: {
      failures: firstOf(failures),
      ...(excused.length > 0 ? { explained_by_harness_stalls: firstOf(excused) } : {}),
      ...(slowExcused.length > 0 ? { slow_lookups_explained_by_harness_stalls: firstOf(slowExcused) } : {}),
      ...(exercised ? {} : { reason: skipped[0]?.reason ?? "no partition with Step.probeDegradedMode() during it" }),
    },
    duration_ms: Date.now() - t0,
  };
};
