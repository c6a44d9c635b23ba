import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import { pageEvents, seriesOf, thinned } from "./page-data.js";
import { errorsByCode, routeScatter, windowedLatency } from "./page/time-series.js";

const fleet = (i: number, type: "message_acked" | "disconnect" | "welcome"): RunEvent =>
  type === "message_acked"
    ? { t: 1_000 + i * 10, source: "fleet", type, client: `c${i}`, worker: 0, message_id: `m${i}`, delivered: 1, latency_ms: i % 13 }
    : type === "disconnect"
      ? { t: 1_000 + i * 10, source: "fleet", type, client: `c${i}`, worker: 0, session_id: "s", close_code: 1006, reason: "", expected: false }
      : { t: 1_000 + i * 10, source: "fleet", type, client: `c${i}`, worker: 0, session_id: "s", tenant_id: "t", target: "ws://x", resumed: false, latency_ms: i % 7 };

describe("pageEvents", () => {
  it("should keep every event of a run within the limit, in order", () => {
    const events = Array.from({ length: 50 }, (_, i) => fleet(i, "message_acked"));
    expect(pageEvents(events, 50)).toEqual(events);
  });

  it("should keep non-fleet events, then disconnects and errors, then the rest, in recorded order", () => {
    const events: RunEvent[] = Array.from({ length: 100 }, (_, i) => fleet(i, i % 10 === 5 ? "disconnect" : "message_acked"));
    events.splice(40, 0, { t: 1_400, source: "fault", type: "fault_start", fault_id: "f1", kind: "kill_instance", targets: ["gw-1"], description: "kill" });
    const kept = pageEvents(events, 15);
    expect(kept).toHaveLength(15);
    expect(kept.filter((e) => e.source === "fault")).toHaveLength(1);
    expect(kept.filter((e) => e.type === "disconnect")).toHaveLength(10);
    expect(kept.map((e) => e.t)).toEqual([...kept.map((e) => e.t)].sort((a, b) => a - b));
  });
});

describe("thinned", () => {
  it("should keep a regular stride and the last item", () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(thinned(items, 20)).toEqual(items);
    expect(thinned(items, 4)).toEqual([0, 3, 6, 9]);
    expect(thinned(items, 3)).toEqual([0, 4, 8, 9]);
  });
});

describe("seriesOf", () => {
  it("should give the series the page computes from the same events", async () => {
    const events = Array.from({ length: 400 }, (_, i) => fleet(i, i % 3 === 0 ? "welcome" : "message_acked"));
    const { series, total } = await seriesOf(events, 1_000, 5_000);
    expect(total).toBe(400);
    expect(series.latency.ack).toEqual(windowedLatency(events, "ack", 1_000, 5_000));
    expect(series.latency.connect).toEqual(windowedLatency(events, "connect", 1_000, 5_000));
    expect(series.errors).toEqual(errorsByCode(events, 1_000, 5_000));
    expect(series.scatter).toEqual(routeScatter(events, 1_000));
  });
});
