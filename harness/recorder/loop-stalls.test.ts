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

  it("should warn of fleet workers' stalls apart from the harness process's, the longest worker first", () => {
    const worker = (index: number, from: number, duration_ms: number): RunEvent => ({ t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: true, worker: index });
    const onlyWorker = stallWarning([stall(1_000, 300), worker(2, 3_000, 1_100), worker(2, 8_000, 1_400)], 1_000);
    expect(onlyWorker).toBe(
      "a fleet worker's event loop stood still for at least the heartbeat period (1000 ms) (worker 2 2 times, longest 1400 ms from " +
        "1970-01-01T00:00:08.000Z): its clients answered no pings meanwhile, so failures near it may be the loaded machine's, not the system under test's",
    );
    const both = stallWarning([stall(1_000, 1_000), worker(0, 2_000, 1_000), worker(1, 4_000, 1_600), worker(3, 5_000, 1_200), worker(4, 6_000, 1_100)], 1_000)!;
    expect(both).toMatch(/^the harness's own event loop stood still once .*longest 1000 ms from 1970-01-01T00:00:01\.000Z/);
    expect(both).toContain("4 fleet workers' event loops stood still");
    expect(both).toContain("(worker 1 once, longest 1600 ms from 1970-01-01T00:00:04.000Z; worker 3 once, longest 1200 ms from 1970-01-01T00:00:05.000Z; worker 4 once, longest 1100 ms");
    expect(both).toContain("; 1 more): their clients answered no pings meanwhile");
    expect(stallWarning([worker(2, 3_000, 900)], 1_000)).toBeUndefined();
  });

  it("should name the proxy server's stalls apart from the harness process's: only the proxy's held the gateways' Redis links", () => {
    const proxy = (from: number, duration_ms: number): RunEvent => ({ t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: false, proxy: true });
    const own = (from: number, duration_ms: number): RunEvent => ({ t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: false });
    const onlyProxy = stallWarning([proxy(1_000, 1_300), proxy(6_000, 1_100), own(3_000, 400)], 1_000);
    expect(onlyProxy).toBe(
      "the proxy server's event loop stood still 2 times for at least the heartbeat period (1000 ms), longest 1300 ms from 1970-01-01T00:00:01.000Z: " +
        "nothing passed its proxies meanwhile (the gateways' Redis links, and the clients' links where proxied), so failures near it may be the loaded machine's, not the system under test's",
    );
    const onlyOwn = stallWarning([own(2_000, 2_800), proxy(1_000, 300)], 1_000)!;
    expect(onlyOwn).toMatch(/^the harness's own event loop stood still once .*longest 2800 ms.*: its probes and recorder waited, so failures/);
    expect(onlyOwn).not.toContain("proxy");
  });
});
