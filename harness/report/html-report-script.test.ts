import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { REPORT_SCRIPT } from "./html-report-script.js";

/** The page's own script loaded without a document: its top-level helpers, exactly as the browser gets them. */
type Helpers = Record<string, (...args: any[]) => any>;
function loadHelpers(): Helpers {
  const context: Record<string, unknown> = {};
  runInNewContext(REPORT_SCRIPT, context);
  return context as Helpers;
}

const h = loadHelpers();

describe("report page helpers", () => {
  it("should not boot without a document", () => {
    expect(typeof h.boot).toBe("function");
    expect(typeof h.esc).toBe("function");
  });

  it("should escape markup and quotes", () => {
    expect(h.esc!(`<img src=x onerror="alert('x')">&`)).toBe("&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;");
    expect(h.esc!(undefined)).toBe("undefined");
  });

  it("should build the reproduce command from the run's config", () => {
    const run = { scenario: "restart", seed: 42, profile: "ci", config: { runtime: "local", registry: "memory", overrides: { clients: 1000 }, sut: { name: "reference" }, gateway_env: {} } };
    expect(h.reproCommand!(run)).toEqual({ command: "npm run scenario -- restart --seed 42 --profile ci --runtime local --registry memory --clients 1000", seedKnown: true, sut: "reference", gatewayEnv: [] });
    const other = h.reproCommand!({ scenario: "it's", config: { sut: { name: "acme" }, gateway_env: { TRAFFIC_COP_DEFECTS: "no-resume" } } });
    expect(other).toEqual({ command: "npm run scenario -- 'it'\\''s' --sut SUT.json", seedKnown: false, sut: "acme", gatewayEnv: ["TRAFFIC_COP_DEFECTS=no-resume"] });
    expect(h.reproCommand!({}).command).toBe("npm run scenario -- SCENARIO");
  });

  it("should pair fault starts and ends by fault id, leaving an unended fault open to the run's end", () => {
    const events = [
      { t: 100, source: "fault", type: "fault_start", fault_id: "f1", kind: "partition", targets: ["gw-1"], description: "d1" },
      { t: 150, source: "fault", type: "fault_start", fault_id: "f2", kind: "latency", target: "gw-2" },
      { t: 200, source: "fault", type: "fault_end", fault_id: "f1", kind: "partition", ok: false, error: "boom" },
      { t: 210, source: "fleet", type: "fault_end", fault_id: "f2" },
      { t: 260, source: "fault", type: "fault_end", fault_id: "f9", kind: "kill", duration_ms: 50, ok: true },
      "not an event",
    ];
    expect(h.faultIntervals!(events, 1_000)).toEqual([
      { id: "f1", kind: "partition", targets: ["gw-1"], description: "d1", start: 100, end: 200, ok: false, open: false, error: "boom" },
      { id: "f2", kind: "latency", targets: ["gw-2"], description: "", start: 150, end: 1_000, ok: null, open: true },
      { id: "f9", kind: "kill", targets: [], description: "", start: 210, end: 260, ok: true, open: false },
    ]);
    expect(h.faultIntervals!(undefined, 5)).toEqual([]);
  });

  it("should turn process states into marks and down intervals", () => {
    const events = [
      { t: 1, source: "process", type: "process_state", target: "gw-1", state: "stopping" },
      { t: 2, source: "process", type: "process_state", target: "gw-1", state: "stopped", exit: { signal: "SIGKILL", expected: true } },
      { t: 5, source: "process", type: "process_state", target: "gw-1", state: "started", pid: 9 },
      { t: 6, source: "process", type: "process_state", target: "gw-2", state: "stopped", exit: { code: 1, signal: null, expected: false } },
    ];
    const marks = h.processMarks!(events);
    expect(marks.map((m: { kind: string }) => m.kind)).toEqual(["stop", "kill", "start", "crash"]);
    expect(h.downIntervals!(marks, 10)).toEqual([
      { target: "gw-1", kind: "draining", start: 1, end: 2 },
      { target: "gw-1", kind: "down", start: 2, end: 5 },
      { target: "gw-2", kind: "down", start: 6, end: 10 },
    ]);
  });

  it("should find every instance id, sorted naturally", () => {
    const run = {
      topology: { instances: [{ id: "gw-10" }, { id: "gw-2" }] },
      samples: [{ fleet: { by_instance: { "gw-1": 3 } }, registry: { by_instance: { ghost: 1 } } }, { fleet: null, registry: { error: "x" } }],
      events: [{ source: "process", target: "gw-3" }],
    };
    expect(h.instanceIds!(run)).toEqual(["ghost", "gw-1", "gw-2", "gw-3", "gw-10"]);
    expect(h.instanceIds!({})).toEqual([]);
  });

  it("should take the time base from started_at, else from the earliest and latest times", () => {
    expect(h.timeBase!({ started_at: "2026-01-01T00:00:00.000Z", duration_ms: 5_000 })).toEqual({ t0: Date.UTC(2026, 0, 1), t1: Date.UTC(2026, 0, 1) + 5_000 });
    expect(h.timeBase!({ events: [{ t: 30 }, { t: 10 }], samples: [{ t: 50 }] })).toEqual({ t0: 10, t1: 50 });
    expect(h.timeBase!({})).toEqual({ t0: 0, t1: 1 });
    expect(h.timeBase!({ started_at: "2026-01-01T00:00:00.000Z", events: [{ t: Date.UTC(2026, 0, 1) + 7_000 }, { t: "x" }] })).toEqual({ t0: Date.UTC(2026, 0, 1), t1: Date.UTC(2026, 0, 1) + 7_000 });
    expect(h.timeBase!({ phases: [{ start: 40, end: 90 }, null], events: [{ t: 60 }, 3, { t: Infinity }] })).toEqual({ t0: 40, t1: 90 });
  });

  it("should take the time base of a big run without started_at without overflowing the call stack", () => {
    // Math.min.apply over this many times throws "Maximum call stack size exceeded".
    const events = Array.from({ length: 200_000 }, (_, i) => ({ t: 1_000_000 + ((i * 7_919) % 200_000), source: "fleet", type: "welcome" }));
    expect(() => Math.min.apply(null, events.map((e) => e.t))).toThrow(RangeError);
    expect(h.timeBase!({ events })).toEqual({ t0: 1_000_000, t1: 1_199_999 });
    expect(h.timeBase!({ events, duration_ms: 5_000 })).toEqual({ t0: 1_000_000, t1: 1_005_000 });
  });

  it("should make sample series with gaps where a value is missing", () => {
    const samples = [{ t: 2_000, fleet: { connected: 5 } }, { t: 3_000, fleet: null }, { elapsed_ms: 4_000, fleet: { connected: "x" } }, null];
    expect(h.sampleSeries!(samples, 1_000, (s: { fleet: { connected: number } }) => s.fleet.connected)).toEqual([
      { x: 1, y: 5 },
      { x: 2, y: null },
      { x: 4, y: null },
    ]);
  });

  it("should choose round ticks and scales", () => {
    expect(h.niceTicks!(0, 21.3, 10)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(h.niceTicks!(0, 0, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(h.niceScale!(150, 4)).toEqual({ max: 150, ticks: [0, 50, 100, 150] });
    expect(h.niceScale!(0.33, 4).ticks).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(h.niceScale!(null, 4).max).toBe(1);
  });

  it("should draw lines with gaps and shade the area between two series", () => {
    const id = (v: number) => v;
    expect(h.linePath!([{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: null }, { x: 3, y: 4 }], id, id)).toBe("M0.0 1.0L1.0 2.0M3.0 4.0");
    expect(h.areaBetween!([{ x: 0, y: 1 }, { x: 1, y: 1 }], [{ x: 0, y: 0 }, { x: 1, y: 2 }], id, id)).toBe("M0.0 1.0L1.0 1.0L1.0 2.0L0.0 0.0Z");
  });

  it("should filter events by source, type and text, capped at the limit with the full count", () => {
    const events = [
      { t: 1, source: "fleet", type: "welcome", client: "c1" },
      { t: 2, source: "fleet", type: "welcome", client: "c2" },
      { t: 3, source: "fault", type: "fault_start", description: "kill GW-1" },
      { t: 4, source: "fleet", type: "disconnect", client: "c1" },
    ];
    const one = h.filterEvents!(events, { source: "fleet", type: "welcome" }, 1);
    expect(one.total).toBe(2);
    expect(one.rows.map((r: { index: number }) => r.index)).toEqual([0]);
    expect(h.filterEvents!(events, { text: "gw-1" }, 10).rows.map((r: { index: number }) => r.index)).toEqual([2]);
    expect(h.filterEvents!(events, { source: "!fleet" }, 10).rows.map((r: { index: number }) => r.index)).toEqual([2]);
    expect(h.filterEvents!(events, { text: "\"c1\"" }, 10).total).toBe(2);
    expect(h.filterEvents!(null, {}, 10)).toEqual({ rows: [], total: 0 });
    expect(h.filterEvents!([7, null, ...events], {}, 10).rows.map((r: { index: number }) => r.index)).toEqual([2, 3, 4, 5]);
  });

  it("should match an event's source the same way for the filter and the type counts", () => {
    const fleet = { source: "fleet", type: "welcome" };
    const fault = { source: "fault", type: "fault_start" };
    const bare = { type: "x" };
    const cases: [unknown, string, boolean][] = [
      [fleet, "", true],
      [fleet, "fleet", true],
      [fleet, "fault", false],
      [fleet, "!fleet", false],
      [fault, "!fleet", true],
      [bare, "!fleet", true],
      [bare, "fleet", false],
      [bare, "", true],
      [null, "", false],
      [[fleet], "", false],
      ["fleet", "fleet", false],
    ];
    for (const [event, source, expected] of cases) {
      expect(h.sourceMatches!(event, source), `${JSON.stringify(event)} / ${source}`).toBe(expected);
      expect(h.filterEvents!([event], { source }, 1).total, `${JSON.stringify(event)} / ${source}`).toBe(expected ? 1 : 0);
    }
  });

  it("should build each event's lowercased text once, only when the text filter reaches it, and reuse it", () => {
    const events = [
      { t: 1, source: "fleet", type: "welcome", client: "C1" },
      { t: 2, source: "fault", type: "fault_start", description: "Kill gw-1" },
      { t: 3, source: "fleet", type: "disconnect", client: "c2" },
    ];
    const texts: string[] = [];
    // No text: nothing is built.
    expect(h.filterEvents!(events, { source: "fleet" }, 10, texts).total).toBe(2);
    expect(texts).toEqual([]);
    // Only the events past the source filter are built.
    expect(h.filterEvents!(events, { source: "fleet", text: "c1" }, 10, texts).rows.map((r: { index: number }) => r.index)).toEqual([0]);
    expect(texts[0]).toBe(JSON.stringify(events[0]).toLowerCase());
    expect(texts[1]).toBeUndefined();
    expect(texts[2]).toBe(JSON.stringify(events[2]).toLowerCase());
    // A later call reads the cached text instead of serialising again.
    texts[2] = "planted";
    expect(h.filterEvents!(events, { text: "PLANTED" }, 10, texts).rows.map((r: { index: number }) => r.index)).toEqual([2]);
    expect(h.filterEvents!(events, { text: "KILL GW" }, 10, texts).rows.map((r: { index: number }) => r.index)).toEqual([1]);
    expect(texts[1]).toBe(JSON.stringify(events[1]).toLowerCase());
    // Without a cache the result is the same as with one.
    expect(h.filterEvents!(events, { text: "kill gw" }, 10)).toEqual(h.filterEvents!(events, { text: "kill gw" }, 10, []));
  });

  it("should put failed checks first and keep the recorded order otherwise", () => {
    const checks = [{ name: "a", pass: true }, { name: "b", pass: false }, 3, { name: "c" }, { name: "d", pass: true }];
    expect(h.sortChecks!(checks).map((c: { name: string }) => c.name)).toEqual(["b", "c", "a", "d"]);
  });

  it("should stack overlapping intervals into rows", () => {
    expect(h.stackRows!([{ start: 0, end: 10 }, { start: 5, end: 8 }, { start: 9, end: 12 }, { start: 11, end: 13 }])).toEqual({ row: [0, 1, 1, 0], count: 2 });
  });

  it("should format durations and offsets", () => {
    expect(h.fmtDuration!(350.4)).toBe("350 ms");
    expect(h.fmtDuration!(12_300)).toBe("12.3 s");
    expect(h.fmtDuration!(185_000)).toBe("3 min 5 s");
    expect(h.fmtDuration!(undefined)).toBe("–");
    expect(h.fmtOffset!(4.4123)).toBe("+4.41 s");
  });
});
