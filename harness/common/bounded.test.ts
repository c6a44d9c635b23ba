import { describe, expect, it } from "vitest";
import { createDeferred } from "./deferred.js";
import { forEachBounded } from "./bounded.js";

describe("forEachBounded", () => {
  it("never has more than the limit in flight, runs every item once, in order of start", async () => {
    let inFlight = 0;
    let peak = 0;
    const started: number[] = [];
    await forEachBounded(Array.from({ length: 50 }, (_, i) => i), 4, async (item) => {
      started.push(item);
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Uneven durations, so the workers interleave.
      await new Promise((resolve) => setImmediate(resolve, item % 3));
      inFlight--;
    });
    expect(peak).toBe(4);
    expect(started).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("starts no new call once the signal aborts", async () => {
    const controller = new AbortController();
    const ran: number[] = [];
    await forEachBounded([0, 1, 2, 3, 4, 5], 2, async (item) => {
      ran.push(item);
      if (item === 1) controller.abort();
    }, controller.signal);
    expect(ran).toEqual([0, 1]);
  });

  it("rejects with the first error and starts nothing after it, once in-flight calls end", async () => {
    const gate = createDeferred<void>();
    const ran: number[] = [];
    const done = forEachBounded([0, 1, 2, 3], 2, async (item) => {
      ran.push(item);
      if (item === 0) throw new Error("boom");
      await gate.promise;
    });
    gate.resolve();
    await expect(done).rejects.toThrow("boom");
    expect(ran).toEqual([0, 1]);
  });

  it("refuses a limit that is not a positive integer", async () => {
    await expect(forEachBounded([1], 0, async () => {})).rejects.toThrow(RangeError);
  });
});
