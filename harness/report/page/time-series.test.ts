import { describe, expect, it } from "vitest";
import type { RunEvent, Sample } from "../run-result.js";
import { instanceRows, renderInstanceTable } from "./instance-table.js";
import { processMarks } from "./intervals.js";
import { errorsByCode, percentile, routeScatter, windowedLatency } from "./time-series.js";

/** Event literals as a run.json may hold them: the page reads any shape. */
const asEvents = (events: object[]): RunEvent[] => events as unknown as RunEvent[];


const T0 = 1_000_000;
const acked = (t: number, latency: number) => ({ t: T0 + t, source: "fleet", type: "message_acked", client: "c1", latency_ms: latency });

describe("report page time series", () => {
  it("should take nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99), percentile(values, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
  });

  it("should give each window its own percentiles, not the cumulative ones", () => {
    // Second 0: fast routes; second 1: nothing; second 2: one slow route among fast ones.
    const events = asEvents([
      ...Array.from({ length: 100 }, (_, i) => acked(i * 5, 1 + (i % 10))),
      ...Array.from({ length: 99 }, (_, i) => acked(2_000 + i * 5, 2)),
      acked(2_900, 900),
      { t: T0 + 2_950, source: "fleet", type: "welcome", client: "c2", latency_ms: 5_000 },
      { t: T0 + 100, source: "probe", type: "message_acked", latency_ms: 5_000 },
    ]);
    const w = windowedLatency(events, "ack", T0, T0 + 3_000);
    expect(w.x).toEqual([0.5, 1.5, 2.5]);
    expect(w.count).toEqual([100, 0, 100]);
    expect(w.p50).toEqual([5, null, 2]);
    expect(w.p99).toEqual([10, null, 2]);
    expect(w.max).toEqual([10, null, 900]);
    expect(windowedLatency(events, "connect", T0, T0 + 3_000).max).toEqual([null, null, 5_000]);
  });

  it("should count route and connect errors per window by code", () => {
    const events = asEvents([
      { t: T0 + 10, source: "fleet", type: "message_error", client: "c1", code: "NO_SUCH_CONNECTION" },
      { t: T0 + 1_500, source: "fleet", type: "message_error", client: "c1", code: "NO_SUCH_CONNECTION" },
      { t: T0 + 1_600, source: "fleet", type: "connect_error", client: "c2", reason: "ECONNREFUSED" },
      { t: T0 + 1_700, source: "fleet", type: "connect_error", client: "c2", status: 503 },
      { t: T0 + 1_800, source: "fleet", type: "welcome", client: "c2" },
    ]);
    expect(errorsByCode(events, T0, T0 + 2_000)).toEqual({
      x: [0.5, 1.5],
      codes: ["connect ECONNREFUSED", "connect HTTP 503", "route NO_SUCH_CONNECTION"],
      counts: [
        [0, 1],
        [0, 1],
        [1, 1],
      ],
    });
  });

  it("should sample a big scatter but keep every slow route", () => {
    const events = asEvents(Array.from({ length: 1_000 }, (_, i) => acked(1_000 - i, i === 500 ? 999 : 1)));
    const all = routeScatter(events, T0);
    expect(all.x).toHaveLength(1_000);
    expect(all.x).toEqual([...all.x].sort((a, b) => a - b));
    const sampled = routeScatter(events, T0, 100);
    expect(sampled.total).toBe(1_000);
    expect(sampled.x.length).toBeLessThanOrEqual(100 + 10);
    expect(sampled.y).toContain(999);
  });
});

describe("report page instance table", () => {
  it("should count connections, reconnects, errors, kills and restarts per instance", () => {
    const events = asEvents([
      { t: 1, source: "process", type: "process_state", target: "gw-1", state: "started" },
      { t: 1, source: "process", type: "process_state", target: "gw-2", state: "started" },
      { t: 2, source: "fleet", type: "welcome", client: "c1", instance_id: "gw-1" },
      { t: 2, source: "fleet", type: "welcome", client: "c2", instance_id: "gw-1" },
      { t: 3, source: "fleet", type: "message_error", client: "c1", code: "X" },
      { t: 4, source: "process", type: "process_state", target: "gw-1", state: "stopped", exit: { signal: "SIGKILL" } },
      { t: 4, source: "fleet", type: "disconnect", client: "c1", instance_id: "gw-1", close_code: 1006 },
      { t: 4, source: "fleet", type: "disconnect", client: "c2", instance_id: "gw-1", expected: true },
      { t: 5, source: "fleet", type: "welcome", client: "c1", instance_id: "gw-2" },
      { t: 6, source: "fleet", type: "message_error", client: "c1", code: "X" },
      { t: 7, source: "process", type: "process_state", target: "gw-1", state: "started" },
    ]);
    const samples = [
      { t: 2, fleet: { by_instance: { "gw-1": 2 } } },
      { t: 6, fleet: { by_instance: { "gw-2": 1 } } },
    ] as unknown as Sample[];
    const rows = instanceRows(["gw-1", "gw-2"], events, samples, processMarks(events));
    expect(rows).toEqual([
      { id: "gw-1", connectionsLast: 0, connectionsPeak: 2, welcomes: 2, reconnects: 0, unexpectedDisconnects: 1, errors: 1, kills: 1, crashes: 0, restarts: 1 },
      { id: "gw-2", connectionsLast: 1, connectionsPeak: 1, welcomes: 1, reconnects: 1, unexpectedDisconnects: 0, errors: 1, kills: 0, crashes: 0, restarts: 0 },
    ]);
    const html = renderInstanceTable([{ ...rows[0]!, id: `<img src=x>` }]);
    expect(html).not.toContain("<img");
    expect(html).toContain(`<tr data-instance="&lt;img src=x&gt;"><th>&lt;img src=x&gt;</th><td>0 / 2</td>`);
  });
});
