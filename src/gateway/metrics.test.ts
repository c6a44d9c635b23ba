import { describe, expect, it } from "vitest";
import { Counter, Histogram } from "./metrics.js";

describe("metrics", () => {
  it("should render counters with escaped labels in Prometheus text format", () => {
    const counter = new Counter("x_total", "Things.");
    counter.inc({ code: "A" });
    counter.inc({ code: "A" }, 2);
    counter.inc({ code: 'we"ird\\\n' });
    expect(counter.render().split("\n")).toEqual(["# HELP x_total Things.", "# TYPE x_total counter", 'x_total{code="A"} 3', 'x_total{code="we\\"ird\\\\\\n"} 1']);
  });

  it("should render cumulative histogram buckets, sum and count", () => {
    const histogram = new Histogram("lat_seconds", "Latency.", [0.1, 1]);
    histogram.observe({ op: "get" }, 0.05);
    histogram.observe({ op: "get" }, 0.5);
    histogram.observe({ op: "get" }, 5);
    expect(histogram.render().split("\n").slice(2)).toEqual([
      'lat_seconds_bucket{le="0.1",op="get"} 1',
      'lat_seconds_bucket{le="1",op="get"} 2',
      'lat_seconds_bucket{le="+Inf",op="get"} 3',
      'lat_seconds_sum{op="get"} 5.55',
      'lat_seconds_count{op="get"} 3',
    ]);
  });
});
