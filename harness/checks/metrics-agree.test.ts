import { describe, expect, it } from "vitest";
import type { CheckContext } from "./check.js";
import { compareGauges, metricsAgree, readGauges } from "./metrics-agree.js";

const page = (lines: string[]) => `${lines.join("\n")}\n`;

describe("metrics-agree", () => {
  it("should read the connections gauge by tenant and redis_up, ignoring other series, malformed lines and hostile labels", () => {
    const gauges = readGauges(
      page([
        "# HELP traffic_cop_connections Open WebSocket connections held by this instance, by tenant.",
        "# TYPE traffic_cop_connections gauge",
        'traffic_cop_connections{tenant="t-1"} 3',
        'traffic_cop_connections{tenant="t-\\"2\\"}"} 2',
        "traffic_cop_connections_total 99",
        'traffic_cop_connections{tenant="t-3"} NaN',
        "traffic_cop_connections{tenant=} 7",
        "traffic_cop_redis_up 1\r",
        "traffic_cop_registrations_total 10",
      ]),
    );
    expect(gauges).toEqual({ connections: { "t-1": 3, 't-"2"}': 2 }, redisUp: 1 });
    // Declared with no series: an instance holding nothing. Absent: a page without the metric at all.
    expect(readGauges(page(["# TYPE traffic_cop_connections gauge", "traffic_cop_redis_up 0"]))).toEqual({ connections: {}, redisUp: 0 });
    expect(readGauges(page(["other_metric 1"]))).toEqual({});
  });

  it("should agree only when every tenant's count and redis_up match on every instance", () => {
    const fleet = new Map<string, Record<string, number>>([
      ["gw-1", { a: 2, b: 1 }],
      ["gw-2", { a: 1 }],
    ]);
    expect(compareGauges(fleet, { "gw-1": { connections: { a: 2, b: 1 }, redisUp: 1 }, "gw-2": { connections: { a: 1, b: 0 } }, "gw-3": { connections: {} } })).toEqual([]);
    // Right sum, wrong tenants; a closed socket still counted; Redis said down; no answer; the metric missing.
    const disagreements = compareGauges(fleet, {
      "gw-1": { connections: { a: 3 }, redisUp: 1 },
      "gw-2": { connections: { a: 2 }, redisUp: 1 },
      "gw-3": { connections: {}, redisUp: 0 },
      "gw-4": { unanswered: true },
      "gw-5": { redisUp: 1 },
    });
    expect(disagreements.map((d) => d.instance)).toEqual(["gw-1", "gw-2", "gw-3", "gw-4", "gw-5"]);
    expect(disagreements[1]).toEqual({ instance: "gw-2", fleet: { a: 1 }, fleet_total: 1, reported: { a: 2 }, reported_total: 2, redis_up: 1 });
    expect(disagreements[3]).toMatchObject({ instance: "gw-4", unanswered: true, fleet_total: 0 });
  });

  it("should say it did not judge a SUT that declares no metrics path", async () => {
    const context = { events: [], metricsPath: null, thresholds: { settleBoundMs: 1_000 }, liveInstances: () => ["gw-1"], instanceUrls: {} } as unknown as CheckContext;
    expect(await metricsAgree(context)).toMatchObject({ name: "metrics-agree", pass: true, actual: { judged: false, reason: "the SUT declares no metrics path" } });
  });
});
