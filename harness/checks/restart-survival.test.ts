import { describe, expect, it } from "vitest";
import { recoveryTimes } from "./restart-survival.js";

describe("recoveryTimes", () => {
  it("should give each restart the time to its last dropped client back, null when one never came back", () => {
    const histories = [
      { outages: [{ from: 1_010, to: 1_400 }, { from: 5_005, to: 5_100 }] },
      { outages: [{ from: 1_020, to: 2_250 }] },
      // Dropped before any restart: counts for none.
      { outages: [{ from: 500, to: 600 }, { from: 5_010 }] },
    ];
    expect(recoveryTimes([1_000, 5_000], histories)).toEqual([1_250, null]);
    expect(recoveryTimes([1_000, 9_000], [])).toEqual([0, 0]);
  });
});
