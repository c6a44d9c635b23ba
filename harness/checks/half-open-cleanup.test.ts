import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { halfOpenCleanup, judgeHalfOpenCleanup, REMOVAL_WINDOW_MS, SAMPLE_PERIOD_MS, type HalfOpenCleanupInput } from "./half-open-cleanup.js";

const T0 = 5_000_000;
const H = 1_000;
/** 2H + W: the bound; a sample may see the clearing up to one period later. */
const BOUND = 2 * H + REMOVAL_WINDOW_MS;

/** 40 records at the cut, still there at every sample before `clearedAfterMs`, none from then on; samples every period from the cut to 10 s. */
function input(clearedAfterMs: number | null, stalls: HalfOpenCleanupInput["stalls"] = [], gapFrom?: number, gapMs = 0): HalfOpenCleanupInput {
  const samples = [];
  for (let at = 0; at <= 10_000; at += SAMPLE_PERIOD_MS) {
    // A stall of the harness delays every sample due meanwhile to its end.
    const t = gapFrom !== undefined && at > gapFrom && at <= gapFrom + gapMs ? gapFrom + gapMs : at;
    samples.push({ t: T0 + t, records: clearedAfterMs !== null && t >= clearedAfterMs ? 0 : 40 });
  }
  return { instance: "gw-1", appliedAt: T0, endedAt: T0 + 10_000, heartbeatIntervalMs: H, samples, stalls };
}

const stall = (from: number, duration_ms: number, extra: { worker?: number; proxy?: boolean } = {}) => ({ from: T0 + from, duration_ms, ...extra });

describe("half-open-cleanup", () => {
  it("should pass records cleared within 2H + W (+ a sample) and fail them cleared later or never", () => {
    expect(judgeHalfOpenCleanup(input(2_500)).pass).toBe(true);
    expect(judgeHalfOpenCleanup(input(BOUND + SAMPLE_PERIOD_MS)).pass).toBe(true);
    const late = judgeHalfOpenCleanup(input(6_000));
    expect(late.pass).toBe(false);
    expect(late.actual).toMatchObject({ cleared_after_ms: 6_000, left_at_end: 0 });
    expect(late.actual).not.toHaveProperty("late_explained_by_harness_stalls_ms");
    expect(judgeHalfOpenCleanup(input(null)).pass).toBe(false);
  });

  it("should list apart records seen cleared late only because the harness's own loop stood still", () => {
    // Cleared at 2.5 s; the harness stood still from 2.2 s to 4.8 s, so the first sample to see it came at 4.8 s.
    const excused = judgeHalfOpenCleanup(input(2_500, [stall(2_200, 2_600)], 2_200, 2_600));
    expect(excused.actual).toMatchObject({ cleared_after_ms: 4_800, late_explained_by_harness_stalls_ms: 2_600 });
    expect(excused.pass, JSON.stringify(excused.evidence)).toBe(true);
    // Still late: a stall too short for the difference, one before the cut, the proxy server's or a fleet worker's
    // (neither takes the samples), and records still there when the black hole ended.
    for (const [clearedAt, stalls] of [
      [6_000, [stall(2_200, 500)]],
      [6_000, [stall(-3_000, 2_900)]],
      [6_000, [stall(2_200, 2_600, { proxy: true })]],
      [6_000, [stall(2_200, 2_600, { worker: 1 })]],
      [null, [stall(0, 9_000)]],
    ] as const) {
      const result = judgeHalfOpenCleanup(input(clearedAt, [...stalls]));
      expect(result.pass, JSON.stringify(stalls)).toBe(false);
      expect(result.actual).not.toHaveProperty("late_explained_by_harness_stalls_ms");
    }
  });

  it("should take the stalls from the run's harness_stall events", async () => {
    const judged = input(2_500, [], 2_200, 2_600);
    const fault = { fault_id: "f1", kind: "client_link", targets: ["gw-1"], description: "client link of gw-1: blackhole" };
    const check = (events: RunEvent[]) =>
      halfOpenCleanup({
        events: [{ t: T0, source: "fault", type: "fault_applied", ...fault }, { t: T0 + 10_000, source: "fault", type: "fault_end", ...fault, ok: true, duration_ms: 10_000 }, ...events],
        samples: judged.samples.map((s) => ({ t: s.t, registry: { by_instance: { "gw-1": s.records } } })),
        heartbeatIntervalMs: H,
      } as unknown as CheckContext);
    expect((await check([])).pass).toBe(false);
    const stalled = await check([{ t: T0 + 4_800, source: "probe", type: "harness_stall", from: T0 + 2_200, duration_ms: 2_600, client_path: false } as RunEvent]);
    expect(stalled.pass, JSON.stringify(stalled.evidence)).toBe(true);
    expect(stalled.actual).toMatchObject([{ late_explained_by_harness_stalls_ms: 2_600 }]);
  });
});
