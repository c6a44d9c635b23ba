import { describe, expect, it } from "vitest";
import { deriveSeed, hashUnit, SeededRandom } from "./random.js";

describe("SeededRandom", () => {
  it("should repeat its sequence for the same seed and differ for another", () => {
    const a = new SeededRandom(123);
    const b = new SeededRandom(123);
    const c = new SeededRandom(124);
    const seqA = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(seqA);
  });

  it("should stay in range and be roughly uniform", () => {
    const random = new SeededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const value = random.next();
      if (!(value >= 0 && value < 1)) outOfRange++;
      else buckets[Math.floor(value * 10)]!++;
    }
    expect(outOfRange).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(600);
    const ints = new Set(Array.from({ length: 1_000 }, () => random.intBetween(3, 5)));
    expect([...ints].sort()).toEqual([3, 4, 5]);
  });

  it("should derive independent, stable seeds from labels", () => {
    expect(deriveSeed(1, "fleet", 2)).toBe(deriveSeed(1, "fleet", 2));
    expect(deriveSeed(1, "fleet", 2)).not.toBe(deriveSeed(1, "fleet", 3));
    expect(deriveSeed(1, "fleet")).not.toBe(deriveSeed(1, "fault"));
    expect(hashUnit(1, "x")).toBeLessThan(1);
  });

  it("should shuffle to a permutation", () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new SeededRandom(3).shuffle(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });
});
