import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { degradedMode } from "./degraded-mode.js";

const T0 = 2_000_000;
const H = 1_000;
/** A partition of gw-1 from T0 for 3 s. */
const PARTITION_MS = 3_000;

/** The check reads only the recorded events, the heartbeat and its thresholds. */
function judge(events: RunEvent[], healStartedAt?: number) {
  const partition: RunEvent[] = [
    { t: T0, source: "fault", type: "fault_start", fault_id: "f1", kind: "partition", targets: ["gw-1"], description: "partition gw-1 (reset)" },
    {
      t: T0 + PARTITION_MS,
      source: "fault",
      type: "fault_end",
      fault_id: "f1",
      kind: "partition",
      targets: ["gw-1"],
      description: "partition gw-1 (reset)",
      ok: true,
      duration_ms: PARTITION_MS,
      ...(healStartedAt !== undefined ? { heal_started_at: healStartedAt } : {}),
    },
    { t: T0 + 200, source: "probe", type: "degraded_lookup", fault_id: "f1", via: "gw-1", kind: "connection", round: 0, status: 503, code: "REGISTRY_UNAVAILABLE", latency_ms: 20, during: true },
    { t: T0 + PARTITION_MS + 500, source: "probe", type: "degraded_reconcile", fault_id: "f1", healed_at: T0 + PARTITION_MS, reconciled_after_ms: 400, lookup_status_by_instance: { "gw-1": 200 }, last: null },
  ];
  return degradedMode({ events: [...partition, ...events], heartbeatIntervalMs: H, thresholds: { settleBoundMs: 2_500 } } as unknown as CheckContext);
}

function disconnect(t: number, closeCode: number, client = "c1"): RunEvent {
  return { t, source: "fleet", type: "disconnect", client, worker: 0, session_id: "s1", close_code: closeCode, reason: "", expected: false, websocket_id: `w-${client}`, instance_id: "gw-1" };
}

function stall(from: number, durationMs: number, clientPath = true): RunEvent {
  return { t: from + durationMs, source: "probe", type: "harness_stall", from, duration_ms: durationMs, client_path: clientPath };
}

describe("degraded-mode check", () => {
  it("should fail when an instance reaped another after a staggered outage, and pass with none reaped or none judged", async () => {
    const judged = (reaped: number | null): RunEvent => ({
      t: T0 + PARTITION_MS + 9_000,
      source: "probe",
      type: "degraded_reconcile",
      fault_id: "f1",
      healed_at: T0 + PARTITION_MS,
      reconciled_after_ms: 400,
      lookup_status_by_instance: { "gw-1": 200 },
      reaped_records: reaped,
      no_reap_for_ms: 5_500,
      last: null,
    });
    const reaped = await judge([judged(15)]);
    expect(reaped.pass).toBe(false);
    expect(reaped.evidence).toMatchObject({ failures: [expect.objectContaining({ reaped_records: 15, within_ms_of_heal: 5_500 })] });
    expect(reaped.actual).toMatchObject({ records_reaped_after_shared_outage: [15] });
    expect((await judge([judged(0)])).pass).toBe(true);
    // A SUT whose metrics do not say: not judged, and not taken for a pass of that part either (null in the result).
    const unknown = await judge([judged(null)]);
    expect(unknown.pass).toBe(true);
    expect(unknown.actual).toMatchObject({ records_reaped_after_shared_outage: [null] });
    expect((await judge([])).actual).not.toHaveProperty("records_reaped_after_shared_outage");
  });

  it("should fail when a socket on the partitioned instance closes during the partition", async () => {
    const result = await judge([disconnect(T0 + 1_000, 1006)]);
    expect(result.pass).toBe(false);
    expect(result.actual).toMatchObject({ sockets_closed_during_partition: 1, closes_explained_by_harness_stalls: 0 });
  });

  it("should not count a 1006 close that a stall of the clients' path of a heartbeat explains, and say so", async () => {
    const result = await judge([stall(T0 + 500, 1_050), disconnect(T0 + 1_560, 1006, "c1"), disconnect(T0 + 2_400, 1006, "c2")]);
    expect(result.pass).toBe(true);
    expect(result.actual).toMatchObject({ sockets_closed_during_partition: 0, closes_explained_by_harness_stalls: 2 });
    expect(result.evidence).toMatchObject({ explained_by_harness_stalls: [expect.objectContaining({ client: "c1", harness_stall: { from: T0 + 500, duration_ms: 1_050 } }), expect.anything()] });
  });

  it("should weigh a fleet worker's stall for that worker's sockets only", async () => {
    const workerStall: RunEvent = { t: T0 + 1_550, source: "probe", type: "harness_stall", from: T0 + 500, duration_ms: 1_050, client_path: true, worker: 0 };
    const other: RunEvent = { ...disconnect(T0 + 1_560, 1006, "c2"), worker: 1 } as RunEvent;
    const result = await judge([workerStall, disconnect(T0 + 1_560, 1006, "c1"), other]);
    expect(result.actual).toMatchObject({ sockets_closed_during_partition: 1, closes_explained_by_harness_stalls: 1 });
    expect(result.evidence).toMatchObject({ failures: [expect.objectContaining({ client: "c2" })], explained_by_harness_stalls: [expect.objectContaining({ client: "c1", harness_stall: expect.objectContaining({ worker: 0 }) })] });
  });

  it("should judge only lookups answered before the heal began, which may rightly find Redis back after it", async () => {
    const found = (t: number): RunEvent => ({ t, source: "probe", type: "degraded_lookup", fault_id: "f1", via: "gw-1", kind: "session", round: 2, status: 200, code: null, latency_ms: 30, during: true });
    // Answered 200 at T0 + 2,900, after the heal began at T0 + 2,700 and before fault_end at T0 + 3,000: not judged.
    const late = await judge([found(T0 + 2_900)], T0 + 2_700);
    expect(late.pass).toBe(true);
    expect(late.actual).toMatchObject({ lookups_during_partition: 1, lookups_answered_after_heal_began: 1, failures: 0 });
    // Answered 200 before the heal began: the gateway found Redis while it was cut off from it.
    const early = await judge([found(T0 + 2_600)], T0 + 2_700);
    expect(early.pass).toBe(false);
    expect(early.evidence).toMatchObject({ failures: [expect.objectContaining({ reason: "lookup did not fail with REGISTRY_UNAVAILABLE", status: 200 })] });
    // A fault_end without a heal start (a run recorded before it existed): the heal counts from fault_end.
    expect((await judge([found(T0 + 2_900)])).pass).toBe(false);
  });

  it("should fail a lookup slower than the bound, unless the harness's own loop stood still for the difference while it waited", async () => {
    const lookup = (latency_ms: number, end: number): RunEvent => ({ t: end, source: "probe", type: "degraded_lookup", fault_id: "f1", via: "gw-1", kind: "session", round: 1, status: 503, code: "REGISTRY_UNAVAILABLE", latency_ms, during: true });
    const own = (from: number, duration_ms: number, extra: Record<string, unknown> = {}): RunEvent => ({ t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: false, ...extra }) as RunEvent;
    // 1,900 ms against the 1,500 ms bound, from T0 + 100 to T0 + 2,000.
    const slow = lookup(1_900, T0 + 2_000);
    const failed = await judge([slow]);
    expect(failed.pass).toBe(false);
    expect(failed.evidence).toMatchObject({ failures: [expect.objectContaining({ reason: "lookup failed too slowly", latency_ms: 1_900 })] });

    // The harness stood still 450 ms of it: 1,450 ms was the gateway's, within the bound.
    const excused = await judge([slow, own(T0 + 1_000, 450)]);
    expect(excused.pass).toBe(true);
    expect(excused.actual).toMatchObject({ slow_lookups_explained_by_harness_stalls: 1, failures: 0 });
    expect(excused.evidence).toMatchObject({ slow_lookups_explained_by_harness_stalls: [{ via: "gw-1", kind: "session", latency_ms: 1_900, harness_stalled_ms: 450 }] });

    // Still a failure: a stall too short for the difference, one outside the request, or one of another process (the
    // proxy server's, a fleet worker's) that holds up no reading by the harness.
    for (const stallEvent of [own(T0 + 1_000, 350), own(T0 + 2_100, 600), own(T0 - 700, 600), own(T0 + 1_000, 600, { proxy: true }), own(T0 + 1_000, 600, { worker: 0, client_path: true })]) {
      const result = await judge([slow, stallEvent]);
      expect(result.pass, JSON.stringify(stallEvent)).toBe(false);
      expect(result.actual).toMatchObject({ slow_lookups_explained_by_harness_stalls: 0, failures: 1 });
    }
  });

  it("should still count closes the stall does not explain", async () => {
    // A close with a code is the gateway's own decision; a stall shorter than a heartbeat costs no pong; a stall
    // outside the clients' path holds up no pong; a close before the stall or more than a heartbeat after it.
    for (const events of [
      [stall(T0 + 500, 1_050), disconnect(T0 + 1_560, 1011)],
      [stall(T0 + 500, H - 200), disconnect(T0 + 1_400, 1006)],
      [stall(T0 + 500, 1_050, false), disconnect(T0 + 1_560, 1006)],
      [stall(T0 + 500, 1_050), disconnect(T0 + 400, 1006)],
      [stall(T0 + 500, 1_050), disconnect(T0 + 500 + 1_050 + H + 1, 1006)],
    ]) {
      const result = await judge(events);
      expect(result.pass, JSON.stringify(events)).toBe(false);
      expect(result.actual).toMatchObject({ sockets_closed_during_partition: 1, closes_explained_by_harness_stalls: 0 });
    }
  });
});
