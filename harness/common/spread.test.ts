import { describe, expect, it } from "vitest";
import { spreadOf } from "./spread.js";

describe("spreadOf", () => {
  it("should give min, median and max whatever the order", () => {
    expect(spreadOf([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spreadOf([5])).toEqual({ min: 5, median: 5, max: 5 });
  });

  it("should take the upper middle value of an even count, a value that was measured", () => {
    expect(spreadOf([4, 1, 3, 2])).toEqual({ min: 1, median: 3, max: 4 });
  });

  it("should sort numbers as numbers, and leave its input alone", () => {
    const values = [10, 9, 100];
    expect(spreadOf(values)).toEqual({ min: 9, median: 10, max: 100 });
    expect(values).toEqual([10, 9, 100]);
  });

  it("should stand whenEmpty (NaN unless given) for every figure of no values", () => {
    expect(spreadOf([])).toEqual({ min: Number.NaN, median: Number.NaN, max: Number.NaN });
    expect(spreadOf([], 0)).toEqual({ min: 0, median: 0, max: 0 });
  });
});
