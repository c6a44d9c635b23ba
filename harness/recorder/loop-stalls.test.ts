import { describe, expect, it, onTestFinished } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import { STALL_REPORT_MS, STALL_SAMPLE_MS, stallWarning, watchLoopStalls } from "./loop-stalls.js";

/** Keeps the event loop from running for `ms`. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: no timer, no I/O runs meanwhile.
  }
}

/** Resolves after `ms` of an event loop free to run timers (the watcher's own among them). */
const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("watchLoopStalls", () => {
  it("should report a stretch in which the event loop ran nothing, with its start and length, until stopped", async () => {
    const stalls: { from: number; durationMs: number }[] = [];
    const stop = watchLoopStalls((from, durationMs) => stalls.push({ from, durationMs }));
    onTestFinished(stop);
    await idle(100);
    const blockedAt = Date.now();
    block(STALL_REPORT_MS + 150);
    // The stall began at most one sampling period before the block and lasted at least the block minus that period
    // (a loaded machine may add stalls of its own, before or after: only the block's is looked for).
    await expect.poll(() => stalls.find((s) => Math.abs(s.from - blockedAt) <= 100), { timeout: 5_000 }).toBeDefined();
    // Reported as it ends, at its length: at most the block plus a second a loaded machine may add.
    const blocked = stalls.find((s) => Math.abs(s.from - blockedAt) <= 100)!;
    expect(blocked.durationMs).toBeGreaterThanOrEqual(STALL_REPORT_MS + 100);
    expect(blocked.durationMs).toBeLessThanOrEqual(STALL_REPORT_MS + 150 + 1_000);
    stop();
    const reported = stalls.length;
    block(STALL_REPORT_MS + 150);
    // Nothing can be polled for here: two sampling periods pass in which a running watcher would have reported.
    await idle(2 * STALL_SAMPLE_MS + 20);
    expect(stalls).toHaveLength(reported);
  });
});

describe("stallWarning", () => {
  const stall = (from: number, duration_ms: number): RunEvent => ({ t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: true });

  it("should warn of stalls of at least the heartbeat period, naming the longest", () => {
    const events = [stall(1_000, 300), stall(5_000, 1_200), stall(9_000, 1_000)];
    const warning = stallWarning(events, 1_000);
    expect(warning).toContain("2 times");
    expect(warning).toContain("longest 1200 ms from 1970-01-01T00:00:05.000Z");
    expect(stallWarning(events, 1_500)).toBeUndefined();
    expect(stallWarning(events, undefined)).toBeUndefined();
    expect(stallWarning([stall(1_000, 300)], 250)).toContain("once");
  });
});
