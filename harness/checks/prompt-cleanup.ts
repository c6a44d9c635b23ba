import { eventsOf } from "../events/run-events.js";
import type { DepartureKind } from "../events/probe-events.js";
import { judgeOwnLatency, NEVER_ENDED } from "../recorder/loop-stalls.js";
import { firstOf, type Check } from "./check.js";

/**
 * How soon after a departure the gateway can know of must leave nothing of the connection in Redis (record,
 * reverse key, every index member), ms. Why 2,000: the gateway learns of a close frame or of the kernel's FIN/RST
 * (terminate, killed process: SIGKILL to exit takes about 7 ms here) within one event-loop turn plus one loopback
 * round trip; its unregister starts at the end of that turn, or with the next group of the write batcher (one
 * Redis round trip, about a millisecond); the script runs in microseconds. The harness adds its own latency: the
 * departure is stamped before the command reaches the departing worker, and a poll (every 50 ms) is stamped after
 * its answer. Measured on the 2-core machine: at most 156 ms (close), 63 ms (terminate), 84 ms (kill) at load
 * average 20-30; at load average 30 one run saw 1,255 ms for a close, where the harness's first poll alone took as
 * long. 2,000 ms keeps such a machine from failing a sound gateway while staying five times below the cleanup
 * scenario's TTL (10 s) and below its 3 s observation window, so a record left to its TTL can never pass.
 */
export const PROMPT_CLEANUP_BOUND_MS = 2_000;

/** Departure kinds after which the gateway can know the connection is gone (all three: a FIN or RST arrives). */
const KNOWABLE: ReadonlySet<DepartureKind> = new Set(["close", "terminate", "kill"]);

/**
 * `prompt-cleanup`: for every departure the gateway can know of (a close frame, a socket destroyed without one,
 * the client's process killed), the connection's record, reverse key and index members are gone from Redis within
 * {@link PROMPT_CLEANUP_BOUND_MS} of the departure, not at TTL. Judged from the `departure_cleanup` events of
 * `Step.departClients()` (Redis polled every 50 ms from the departure on). Fails when no departure was measured.
 * A departure found clean later than the bound only by the time the harness process's own loop stood still meanwhile
 * is listed apart (`late_explained_by_harness_stalls`), not counted: the harness polls, and a stalled loop polls
 * late (`judgeOwnLatency`). One still lingering when the polling ended is never excused.
 */
export const promptCleanup: Check = async (context) => {
  const t0 = Date.now();
  const cleanups = eventsOf(context.events, "probe", "departure_cleanup").filter((e) => KNOWABLE.has(e.kind));
  const failed = eventsOf(context.events, "probe", "departure_failed");
  const stalls = eventsOf(context.events, "probe", "harness_stall");
  // A departure still lingering when the polling ended (gone_after_ms null) is late, never excused.
  const judged = cleanups.map((e) => ({ e, ...(e.gone_after_ms === null ? NEVER_ENDED : judgeOwnLatency(stalls, e.departed_at, e.gone_after_ms, PROMPT_CLEANUP_BOUND_MS)) }));
  const late = judged.filter((j) => j.late).map((j) => j.e);
  const excused = judged.filter((j) => j.excused);
  const byKind: Record<string, { departures: number; late: number; max_gone_after_ms: number | null }> = {};
  for (const e of cleanups) {
    const row = (byKind[e.kind] ??= { departures: 0, late: 0, max_gone_after_ms: 0 });
    row.departures++;
    if (late.includes(e)) row.late++;
    row.max_gone_after_ms = e.gone_after_ms === null || row.max_gone_after_ms === null ? null : Math.max(row.max_gone_after_ms, e.gone_after_ms);
  }
  const lingering: Record<string, number> = {};
  for (const e of late) for (const family of e.lingering) lingering[family] = (lingering[family] ?? 0) + 1;
  return {
    name: "prompt-cleanup",
    pass: cleanups.length > 0 && late.length === 0 && failed.length === 0,
    expected: { gone_within_ms: PROMPT_CLEANUP_BOUND_MS, departures_measured: "> 0" },
    actual: { departures: cleanups.length, late: late.length, late_explained_by_harness_stalls: excused.length, by_kind: byKind, departures_failed: failed.length },
    evidence: {
      late: firstOf(late.map((e) => ({ websocket_id: e.websocket_id, kind: e.kind, instance_id: e.instance_id, gone_after_ms: e.gone_after_ms, observed_ms: e.observed_ms, lingering: e.lingering }))),
      lingering_families: lingering,
      ...(excused.length > 0 ? { late_explained_by_harness_stalls: firstOf(excused.map(({ e, heldMs }) => ({ websocket_id: e.websocket_id, kind: e.kind, gone_after_ms: e.gone_after_ms, harness_stalled_ms: heldMs }))) } : {}),
      ...(failed.length > 0 ? { departures_failed: firstOf(failed) } : {}),
      ...(cleanups.length === 0 ? { reason: "no departure measured: add Step.departClients() to the scenario" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};
