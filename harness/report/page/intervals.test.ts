import { describe, expect, it } from "vitest";
import type { RunEvent } from "../run-result.js";
import { downIntervals, faultIntervals, processMarks, stackRows } from "./intervals.js";

/** Event literals as a run.json may hold them: the page reads any shape. */
const asEvents = (events: object[]): RunEvent[] => events as unknown as RunEvent[];


describe("report page intervals", () => {
  it("should pair fault starts and ends by fault id, leaving an unended fault open to the run's end", () => {
    const events = asEvents([
      { t: 100, source: "fault", type: "fault_start", fault_id: "f1", kind: "partition", targets: ["gw-1"], description: "d1" },
      { t: 150, source: "fault", type: "fault_start", fault_id: "f2", kind: "latency", target: "gw-2" },
      { t: 200, source: "fault", type: "fault_end", fault_id: "f1", kind: "partition", ok: false, error: "boom" },
      { t: 210, source: "fleet", type: "fault_end", fault_id: "f2" },
      { t: 260, source: "fault", type: "fault_end", fault_id: "f9", kind: "kill", duration_ms: 50, ok: true },
    ]);
    expect(faultIntervals(events, 1_000)).toEqual([
      { id: "f1", kind: "partition", targets: ["gw-1"], description: "d1", start: 100, end: 200, ok: false, open: false, error: "boom" },
      { id: "f2", kind: "latency", targets: ["gw-2"], description: "", start: 150, end: 1_000, ok: null, open: true },
      { id: "f9", kind: "kill", targets: [], description: "", start: 210, end: 260, ok: true, open: false },
    ]);
    expect(faultIntervals([], 5)).toEqual([]);
  });

  it("should turn process states into marks and down intervals", () => {
    const events = asEvents([
      { t: 1, source: "process", type: "process_state", target: "gw-1", state: "stopping" },
      { t: 2, source: "process", type: "process_state", target: "gw-1", state: "stopped", exit: { signal: "SIGKILL", expected: true } },
      { t: 5, source: "process", type: "process_state", target: "gw-1", state: "started", pid: 9 },
      { t: 6, source: "process", type: "process_state", target: "gw-2", state: "stopped", exit: { code: 1, signal: null, expected: false } },
    ]);
    const marks = processMarks(events);
    expect(marks.map((m) => [m.kind, m.label])).toEqual([
      ["stop", "stopping (signal sent)"],
      ["kill", "killed (SIGKILL)"],
      ["start", "started (pid 9)"],
      ["crash", "exited unexpectedly (code 1)"],
    ]);
    expect(downIntervals(marks, 10)).toEqual([
      { target: "gw-1", kind: "draining", start: 1, end: 2 },
      { target: "gw-1", kind: "down", start: 2, end: 5 },
      { target: "gw-2", kind: "down", start: 6, end: 10 },
    ]);
  });

  it("should stack overlapping intervals into rows", () => {
    expect(stackRows([{ start: 0, end: 10 }, { start: 5, end: 8 }, { start: 9, end: 12 }, { start: 11, end: 13 }])).toEqual({ row: [0, 1, 1, 0], count: 2 });
  });
});
