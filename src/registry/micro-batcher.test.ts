import { describe, expect, it } from "vitest";
import { MicroBatcher } from "./micro-batcher.js";

describe("MicroBatcher", () => {
  it("should flush the items of one tick together, in chunks of at most maxSize, each caller getting its own result", async () => {
    const flushes: [number[], boolean][] = [];
    const batcher = new MicroBatcher<number, number>(3, async (items, full) => {
      flushes.push([items, full]);
      return items.map((item) => item * 10);
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.push(item)));
    expect(results).toEqual([10, 20, 30, 40, 50]);
    // The first chunk is sent as soon as it is full; the rest at the end of the tick.
    expect(flushes).toEqual([
      [[1, 2, 3], true],
      [[4, 5], false],
    ]);
    await batcher.push(6);
    expect(flushes.at(-1)).toEqual([[6], false]);
  });

  it("should reject every item of a failed chunk, synchronous throws included, and only those", async () => {
    const batcher = new MicroBatcher<string, string>(2, (items) => {
      if (items.includes("sync")) throw new Error("sync failure");
      return items.includes("bad") ? Promise.reject(new Error("chunk failed")) : Promise.resolve(items);
    });
    const outcomes = await Promise.allSettled(["bad", "x", "ok", "y"].map((item) => batcher.push(item)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
    await expect(batcher.push("sync")).rejects.toThrow("sync failure");
  });

  it("should never batch with maxSize 1", async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>(1, async (items, full) => {
      sizes.push(items.length);
      expect(full).toBe(false);
      return items;
    });
    await Promise.all([1, 2, 3].map((item) => batcher.push(item)));
    expect(sizes).toEqual([1, 1, 1]);
  });
});
