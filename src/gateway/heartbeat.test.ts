import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Heartbeat } from "./heartbeat.js";

/** A heartbeat whose ticks take `tickMs` (on the fake clock); returns when each tick started. */
function started(intervalMs: number, tickMs: number): { starts: number[]; heartbeat: Heartbeat } {
  const starts: number[] = [];
  const heartbeat = new Heartbeat(intervalMs, async () => {
    starts.push(performance.now());
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  });
  heartbeat.start();
  return { starts, heartbeat };
}

describe("Heartbeat", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("should start ticks one period apart however long each takes within it", async () => {
    const { starts, heartbeat } = started(100, 40);
    const t0 = performance.now();
    await vi.advanceTimersByTimeAsync(450);
    heartbeat.stop();
    // End to start, they would start at 100, 240, 380.
    expect(starts.map((t) => Math.round(t - t0))).toEqual([100, 200, 300, 400]);
  });

  it("should rest a whole period after a tick that overran it, and never overlap", async () => {
    const { starts, heartbeat } = started(100, 150);
    const t0 = performance.now();
    await vi.advanceTimersByTimeAsync(700);
    heartbeat.stop();
    expect(starts.map((t) => Math.round(t - t0))).toEqual([100, 350, 600]);
  });

  it("should tick no more after stop()", async () => {
    const { starts, heartbeat } = started(100, 10);
    await vi.advanceTimersByTimeAsync(150);
    heartbeat.stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(starts).toHaveLength(1);
  });
});
