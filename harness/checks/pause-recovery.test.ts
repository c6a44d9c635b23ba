import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { pauseRecovery, WAKE_SLACK_MS } from "./pause-recovery.js";

const T0 = 2_000_000;
const TTL = 3_000;
const H = 500;
const BOUND = 2 * H + WAKE_SLACK_MS;

/** The check reads only the recorded events, the TTL and the heartbeat. */
function judge(events: RunEvent[]) {
  return pauseRecovery({ events, connectionTtlMs: TTL, heartbeatIntervalMs: H } as unknown as CheckContext);
}

/** A freeze of gw-1 from T0 for `frozenMs`, as `Step.probeWake()` records it. */
function wake(frozenMs: number, fields: { min?: number | null; recovered?: number | null; unrecovered?: number | null; held?: number } = {}): RunEvent {
  return {
    t: T0 + frozenMs + 100,
    source: "probe",
    type: "pause_wake",
    fault_id: "f1",
    targets: ["gw-1"],
    paused_at: T0,
    woke_at: T0 + frozenMs,
    held_at_pause: fields.held ?? 20,
    min_records_while_frozen: fields.min === undefined ? 0 : fields.min,
    last_frozen_read: fields.min === null ? null : { at: T0 + frozenMs - 200, records: fields.min ?? 0 },
    recovered_after_ms: fields.recovered === undefined ? 400 : fields.recovered,
    unrecovered_read_after_ms: fields.unrecovered === undefined ? 100 : fields.unrecovered,
    last: null,
  };
}

function disconnect(t: number, closeCode: number, expected = false): RunEvent {
  return { t, source: "fleet", type: "disconnect", client: "c1", worker: 0, session_id: "s1", close_code: closeCode, reason: "", expected, websocket_id: "w1", instance_id: "gw-1" };
}

function received(t: number, messageId: string): RunEvent {
  return { t, source: "fleet", type: "message_received", client: "c2", worker: 0, message_id: messageId, session_id: "s1" };
}

describe("pause-recovery check", () => {
  it("should pass when the records went while frozen and came back within two heartbeats of the wake", async () => {
    const result = await judge([wake(2 * TTL), disconnect(T0 + 2 * TTL + 200, 1012), received(T0 + 100, "m1"), received(T0 + 2 * TTL + 10, "m2")]);
    expect(result.pass).toBe(true);
  });

  it("should fail when the registry never (or too late) equals the live connections after the wake", async () => {
    expect((await judge([wake(2 * TTL, { recovered: null })])).pass).toBe(false);
    expect((await judge([wake(2 * TTL, { recovered: BOUND + 500, unrecovered: BOUND + 1 })])).pass).toBe(false);
    // Reads are spaced: equal only at the read after the bound, but unequal last seen by a read begun within it.
    expect((await judge([wake(2 * TTL, { recovered: BOUND + 500, unrecovered: BOUND })])).pass).toBe(true);
  });

  it("should fail when records of an instance frozen longer than TTL plus a heartbeat outlived it", async () => {
    expect((await judge([wake(2 * TTL, { min: 3 })])).pass).toBe(false);
    // A shorter freeze (or a last read too early in it) need not show them gone; an instance holding nothing has none to lose.
    expect((await judge([wake(TTL, { min: 3 })])).pass).toBe(true);
    expect((await judge([wake(TTL + H + 1, { min: 3 })])).evidence).toMatchObject({ reaping_not_observed: ["f1"] });
    expect((await judge([wake(2 * TTL, { min: null, held: 0 })])).pass).toBe(true);
  });

  it("should fail a socket of the woken instance dropped without a close code, and a route received twice", async () => {
    expect((await judge([wake(2 * TTL), disconnect(T0 + 2 * TTL + 50, 1006)])).pass).toBe(false);
    expect((await judge([wake(2 * TTL), disconnect(T0 + 2 * TTL + 50, 1006, true)])).pass).toBe(true);
    expect((await judge([wake(2 * TTL), disconnect(T0 + 2 * TTL + BOUND + 1, 1006)])).pass).toBe(true);
    const twice = await judge([wake(2 * TTL), received(T0 + 2 * TTL + 10, "m1"), received(T0 + 2 * TTL + 20, "m1")]);
    expect(twice.pass).toBe(false);
    expect(twice.actual).toMatchObject({ duplicate_receipts: 1 });
  });

  it("should leave closes and receipts after the next fault's start to that fault", async () => {
    // chaos, seed 1212: gw-2 woke, and 900 ms later the next phase SIGKILLed it; its clients saw 1006.
    const kill: RunEvent = { t: T0 + 2 * TTL + 900, source: "fault", type: "fault_start", fault_id: "f2", kind: "restart_instance", targets: ["gw-1"], description: "restart_instance gw-1 (kill)" };
    expect((await judge([wake(2 * TTL), kill, disconnect(T0 + 2 * TTL + 911, 1006)])).pass).toBe(true);
    expect((await judge([wake(2 * TTL), kill, received(T0 + 2 * TTL + 950, "m1"), received(T0 + 2 * TTL + 990, "m1")])).pass).toBe(true);
    // Before it, still judged; the freeze's own fault_start is not another fault.
    expect((await judge([wake(2 * TTL), kill, disconnect(T0 + 2 * TTL + 899, 1006)])).pass).toBe(false);
    const own: RunEvent = { ...kill, t: T0, fault_id: "f1", kind: "freeze_instance" } as RunEvent;
    expect((await judge([own, wake(2 * TTL), disconnect(T0 + 2 * TTL + 50, 1006)])).pass).toBe(false);
  });

  it("should fail a run in which no freeze was probed", async () => {
    const result = await judge([{ t: T0, source: "probe", type: "pause_probe_skipped", reason: "no freeze" }]);
    expect(result.pass).toBe(false);
    expect(result.evidence).toMatchObject({ reason: "no freeze" });
  });
});
