import { describe, expect, it } from "vitest";
import { frozenState, type FrozenRead } from "./pause-probe.js";

const T0 = 1_000_000;

describe("frozenState", () => {
  it("should judge the frozen state on the reads answered before the first target began to be resumed", () => {
    // The third read began while every target was frozen but was answered after the wake began, when a woken
    // target had written its records again; fault_end (later) would still have counted it.
    const reads: FrozenRead[] = [
      { at: T0, done: T0 + 100, records: 12 },
      { at: T0 + 400, done: T0 + 500, records: 0 },
      { at: T0 + 900, done: T0 + 1_100, records: 7 },
    ];
    expect(frozenState(reads, T0 + 1_000)).toEqual({ minRecords: 0, lastRead: { at: T0 + 400, records: 0 } });
  });

  it("should count a read answered before the wake began, and none when every read straddles it", () => {
    const reads: FrozenRead[] = [{ at: T0, done: T0 + 300, records: 5 }];
    expect(frozenState(reads, T0 + 301)).toEqual({ minRecords: 5, lastRead: { at: T0, records: 5 } });
    expect(frozenState(reads, T0 + 300)).toEqual({ minRecords: null, lastRead: null });
    expect(frozenState([], T0)).toEqual({ minRecords: null, lastRead: null });
  });
});
