import { afterEach, describe, expect, it, vi } from "vitest";
import { Heartbeat } from "./heartbeat.js";

describe("Heartbeat", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Start times of the ticks of a 100 ms heartbeat whose ticks take `tickMs`, over one simulated second. */
  async function tickStarts(tickMs: number): Promise<number[]> {
    vi.useFakeTimers();
    const starts: number[] = [];
    let running = 0;
    let overlapped = false;
    const heartbeat = new Heartbeat(100, async () => {
      starts.push(Date.now());
      overlapped ||= running++ > 0;
      await new Promise((resolve) => setTimeout(resolve, tickMs));
      running--;
    });
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    heartbeat.stop();
    expect(overlapped, "ticks overlapped").toBe(false);
    return starts.slice(1).map((t, i) => t - starts[i]!);
  }

  it("should start a tick a period after the previous one started, however long that one took within the period", async () => {
    expect(await tickStarts(60)).toEqual(Array.from({ length: 9 }, () => 100));
  });

  it("should start the next tick as soon as a tick longer than the period ends, never two at once", async () => {
    // A timer of 0 ms fires after 1 ms (Node's minimum).
    expect(await tickStarts(150)).toEqual(Array.from({ length: 5 }, () => 151));
  });
});
