import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { PROMPT_CLEANUP_BOUND_MS, promptCleanup } from "./prompt-cleanup.js";

const T0 = 3_000_000;

/** The check reads only the recorded events. */
function judge(events: RunEvent[]) {
  return promptCleanup({ events } as unknown as CheckContext);
}

function cleanup(goneAfterMs: number | null, websocketId = "w1"): RunEvent {
  return {
    t: T0 + 3_000, source: "probe", type: "departure_cleanup", kind: "close", websocket_id: websocketId, session_id: "s1", instance_id: "gw-1",
    departed_at: T0, gone_after_ms: goneAfterMs, lingering: goneAfterMs === null ? ["record"] : [], observed_ms: 3_000,
  };
}

function stall(from: number, duration_ms: number, extra: Record<string, unknown> = {}): RunEvent {
  return { t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: false, ...extra } as RunEvent;
}

describe("prompt-cleanup check", () => {
  it("should pass departures cleaned within the bound and fail one cleaned later or never", async () => {
    expect((await judge([cleanup(150), cleanup(PROMPT_CLEANUP_BOUND_MS, "w2")])).pass).toBe(true);
    for (const late of [cleanup(2_400), cleanup(null)]) {
      const result = await judge([cleanup(150, "w2"), late]);
      expect(result.pass).toBe(false);
      expect(result.actual).toMatchObject({ departures: 2, late: 1, late_explained_by_harness_stalls: 0 });
    }
    expect((await judge([])).pass).toBe(false);
  });

  it("should list apart a departure late only by the time the harness's own loop stood still while it polled", async () => {
    // Clean 2,400 ms after the departure, 600 of them with the harness standing still: 1,800 ms were the gateway's.
    const excused = await judge([cleanup(2_400), stall(T0 + 1_000, 600)]);
    expect(excused.pass).toBe(true);
    expect(excused.actual).toMatchObject({ late: 0, late_explained_by_harness_stalls: 1 });
    expect(excused.evidence).toMatchObject({ late_explained_by_harness_stalls: [{ websocket_id: "w1", gone_after_ms: 2_400, harness_stalled_ms: 600 }] });
    // Still late: a stall too short for the difference, one before the departure, one of the proxy server or a
    // fleet worker (neither polls), and a connection still there when the polling ended.
    for (const events of [
      [cleanup(2_400), stall(T0 + 1_000, 300)],
      [cleanup(2_400), stall(T0 - 900, 800)],
      [cleanup(2_400), stall(T0 + 1_000, 600, { proxy: true })],
      [cleanup(2_400), stall(T0 + 1_000, 600, { worker: 1, client_path: true })],
      [cleanup(null), stall(T0 + 1_000, 2_000)],
    ]) {
      const result = await judge(events);
      expect(result.pass, JSON.stringify(events)).toBe(false);
      expect(result.actual).toMatchObject({ late: 1, late_explained_by_harness_stalls: 0 });
    }
  });
});
