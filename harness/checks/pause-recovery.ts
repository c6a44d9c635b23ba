import { eventsOf } from "../events/run-events.js";
import { firstOf, type Check } from "./check.js";

/**
 * Slack on top of two heartbeat periods for the wake bound, in ms: the probe reads Redis every 250 ms, and on 2
 * loaded cores a full registry read and compare of a few hundred records takes up to a few hundred ms more.
 */
export const WAKE_SLACK_MS = 1_000;

/**
 * Close codes that tell a client nothing: 1005 (no status) and 1006 (no close frame at all). A client of a woken
 * instance must either be served again or be told to move with a code of its own (1001, 1012, 1013, 4000, ...).
 */
const SILENT_CLOSE_CODES: ReadonlySet<number> = new Set([1005, 1006]);

/**
 * `pause-recovery`: an instance frozen (SIGSTOP) for longer than the connection TTL keeps its sockets but loses its
 * records (they expire or another instance reaps them). When it wakes (SIGCONT):
 *
 * - its records went while it was frozen (the last read of them before the wake found none), whenever that read
 *   began more than the TTL plus one heartbeat into the freeze and it held sockets: a record that survives a
 *   frozen holder outlives its TTL;
 * - within two heartbeat periods plus {@link WAKE_SLACK_MS} of the wake, the registry equals the live connections
 *   one to one (`Step.probeWake()`): each client still on the woken instance is registered there again, each client
 *   that moved is registered where it went, and no record names an instance that no longer holds the socket. Two
 *   periods: the first heartbeat after the wake writes the missing records again, but a reaper that claimed the
 *   frozen instance before the wake may still remove some of them (they name the same instance), and the next
 *   heartbeat writes those again;
 * - no client of the frozen instance loses its socket without being told, from the freeze to that bound: a close
 *   without a close frame or status (1005, 1006) fails;
 * - no client receives the same route twice from the freeze to that bound.
 *
 * The last two stop earlier when another fault begins after the freeze (the next of a `chaos` schedule, a kill of
 * the woken instance say): what follows is that fault's story, judged by the checks of its own.
 */
export const pauseRecovery: Check = async (context) => {
  const t0 = Date.now();
  const boundMs = 2 * context.heartbeatIntervalMs + WAKE_SLACK_MS;
  const mustReapAfterMs = context.connectionTtlMs + context.heartbeatIntervalMs;
  const wakes = eventsOf(context.events, "probe", "pause_wake");
  const skipped = eventsOf(context.events, "probe", "pause_probe_skipped");
  const failures: Record<string, unknown>[] = [];
  /** Freezes long enough to reap whose last frozen read came too early to tell. */
  const unjudged: string[] = [];
  let silentCloses = 0;
  let duplicates = 0;
  const received = eventsOf(context.events, "fleet", "message_received");
  const disconnects = eventsOf(context.events, "fleet", "disconnect");
  const faultStarts = eventsOf(context.events, "fault", "fault_start");
  for (const wake of wakes) {
    const targets = new Set(wake.targets);
    const frozenMs = wake.woke_at - wake.paused_at;
    // Judged on the last read made while frozen, when it began late enough: reads of a big registry are sparse.
    const read = wake.last_frozen_read;
    if (wake.held_at_pause > 0 && read !== null && read.at - wake.paused_at > mustReapAfterMs && read.records !== 0) {
      failures.push({ reason: "records of the frozen instance outlived the TTL", fault_id: wake.fault_id, frozen_ms: frozenMs, read_after_ms: read.at - wake.paused_at, records: read.records });
    }
    if (wake.held_at_pause > 0 && frozenMs > mustReapAfterMs && (read === null || read.at - wake.paused_at <= mustReapAfterMs)) unjudged.push(wake.fault_id);
    // Reads are spaced (a full read of a big registry takes a while): late only when a read that began after the
    // bound still found the registry unequal, or none ever found it equal.
    if (wake.recovered_after_ms === null || (wake.unrecovered_read_after_ms ?? 0) > boundMs) {
      failures.push({ reason: "registry not equal to the live connections in time after the wake", fault_id: wake.fault_id, recovered_after_ms: wake.recovered_after_ms, unrecovered_read_after_ms: wake.unrecovered_read_after_ms, bound_ms: boundMs, last: wake.last });
    }
    const nextFault = faultStarts.find((f) => f.fault_id !== wake.fault_id && f.t > wake.paused_at);
    const until = Math.min(wake.woke_at + boundMs, nextFault?.t ?? Number.POSITIVE_INFINITY);
    for (const d of disconnects) {
      if (d.expected || d.t < wake.paused_at || d.t > until || d.instance_id === undefined || !targets.has(d.instance_id)) continue;
      if (SILENT_CLOSE_CODES.has(d.close_code)) {
        silentCloses++;
        failures.push({ reason: "socket of the woken instance dropped without being told to move", fault_id: wake.fault_id, client: d.client, instance_id: d.instance_id, close_code: d.close_code, t: d.t });
      }
    }
    const seen = new Set<string>();
    for (const r of received) {
      if (r.t < wake.paused_at || r.t > until) continue;
      const key = `${r.client}\n${r.message_id}`;
      if (seen.has(key)) {
        duplicates++;
        failures.push({ reason: "route received twice", fault_id: wake.fault_id, client: r.client, message_id: r.message_id });
      }
      seen.add(key);
    }
  }
  const exercised = wakes.length > 0;
  return {
    name: "pause-recovery",
    pass: exercised && failures.length === 0,
    expected: { records_gone_while_frozen_longer_than_ms: mustReapAfterMs, recovered_within_ms: boundMs, silent_closes: 0, duplicate_receipts: 0 },
    actual: {
      freezes: wakes.length,
      frozen_ms: wakes.map((w) => w.woke_at - w.paused_at),
      held_at_pause: wakes.map((w) => w.held_at_pause),
      min_records_while_frozen: wakes.map((w) => w.min_records_while_frozen),
      recovered_after_ms: wakes.map((w) => w.recovered_after_ms),
      unrecovered_read_after_ms: wakes.map((w) => w.unrecovered_read_after_ms),
      silent_closes: silentCloses,
      duplicate_receipts: duplicates,
      failures: failures.length,
    },
    evidence: {
      failures: firstOf(failures),
      ...(unjudged.length > 0 ? { reaping_not_observed: unjudged } : {}),
      ...(exercised ? {} : { reason: skipped[0]?.reason ?? "no freeze with Step.probeWake() during it" }),
    },
    duration_ms: Date.now() - t0,
  };
};
