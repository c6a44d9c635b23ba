import { describe, expect, it } from "vitest";
import { describeFault, Fault, requiredCapability } from "./fault.js";

describe("Fault.packetLoss, packetDuplication, packetReordering", () => {
  it("should make frozen packet_fault data with its form, on a random instance by default", () => {
    const loss = Fault.packetLoss({ percent: 5, durationMs: 3_000 });
    expect(loss).toEqual({ kind: "packet_fault", target: "random", form: "loss", percent: 5, durationMs: 3_000 });
    expect(Object.isFrozen(loss)).toBe(true);
    expect(Fault.packetDuplication({ target: "gw-2", percent: 10, durationMs: 1 })).toMatchObject({ form: "duplicate", target: "gw-2" });
    expect(Fault.packetReordering({ target: "all", percent: 0.01, durationMs: 1 })).toMatchObject({ form: "reorder", percent: 0.01 });
    expect(describeFault(loss)).toBe("packet_fault random (loss 5%, 3000ms)");
    expect(requiredCapability(loss)).toBe("packetFaults");
  });

  it("should refuse a percent outside 0.01..100 and a duration that is not positive", () => {
    for (const percent of [0, 0.001, 100.5, Number.NaN, -1]) expect(() => Fault.packetLoss({ percent, durationMs: 1_000 })).toThrow(TypeError);
    expect(() => Fault.packetReordering({ percent: 5, durationMs: 0 })).toThrow(TypeError);
  });
});

describe("Fault.partition staggered", () => {
  it("should make frozen data with the last instance's delay back, 1500 ms unless given", () => {
    const staggered = Fault.partition({ staggered: true, durationMs: 8_000 });
    expect(staggered).toEqual({ kind: "partition", target: "all", form: "disable", durationMs: 8_000, staggered: { lastBackMs: 1_500 } });
    expect(Object.isFrozen(staggered)).toBe(true);
    expect(Fault.partition({ staggered: { lastBackMs: 700 }, durationMs: 1 })).toMatchObject({ staggered: { lastBackMs: 700 } });
    expect(describeFault(staggered)).toBe("partition all (disable, staggered, 8000ms)");
    expect(Fault.partition({ durationMs: 1 })).not.toHaveProperty("staggered");
  });

  it("should refuse a staggered partition in any form but disable, and a delay back that is not positive", () => {
    for (const form of ["blackhole", "reset", "network"] as const) expect(() => Fault.partition({ form, staggered: true, durationMs: 1_000 })).toThrow(TypeError);
    expect(() => Fault.partition({ staggered: { lastBackMs: 0 }, durationMs: 1_000 })).toThrow(TypeError);
  });
});
