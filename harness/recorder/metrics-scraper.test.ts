import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "../../src/gateway/metrics.js";
import { metricsText, parsePrometheusLine, parsePrometheusText, seriesKey } from "./metrics-scraper.js";

/** The regular expression the scraper used before it had a parser: the reference for input without `}` in labels. */
function legacyParse(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!match || match[1]!.includes("_bucket{")) continue;
    const value = Number(match[2]);
    if (Number.isFinite(value)) out[match[1]!] = value;
  }
  return out;
}

describe("parsePrometheusLine", () => {
  const HOSTILE: { line: string; labels: [string, string][]; value: number; timestampMs?: number }[] = [
    { line: 'errors_total{code="a}b"} 3', labels: [["code", "a}b"]], value: 3 },
    { line: 'errors_total{code="a,b=\\"c\\"",tenant="x"} 4', labels: [["code", 'a,b="c"'], ["tenant", "x"]], value: 4 },
    { line: 'errors_total{path="C:\\\\dir\\nnext"} 5', labels: [["path", "C:\\dir\nnext"]], value: 5 },
    { line: 'errors_total{a="}{",} 6 1700000000000', labels: [["a", "}{"]], value: 6, timestampMs: 1_700_000_000_000 },
    { line: 'up { a = "1" , b="🚀" } +Inf', labels: [["a", "1"], ["b", "🚀"]], value: Infinity },
    { line: "temperature NaN", labels: [], value: Number.NaN },
    { line: "x -Inf", labels: [], value: -Infinity },
    { line: "x 1.5e3", labels: [], value: 1_500 },
  ];
  for (const { line, ...expected } of HOSTILE) {
    it(`should parse ${JSON.stringify(line)}`, () => {
      expect(parsePrometheusLine(line)).toEqual({ name: line.split(/[{ ]/)[0], ...expected });
    });
  }

  for (const line of ['x{a="unterminated} 1', 'x{a=1} 2', "x{a} 3", "x", "x one", "x 1 2 3", 'x{="v"} 1', "x 1 1.5"]) {
    it(`should reject the malformed line ${JSON.stringify(line)}`, () => {
      expect(parsePrometheusLine(line)).toBeUndefined();
    });
  }
});

describe("parsePrometheusText", () => {
  it("should keep series whose label values hold braces, commas, quotes and line breaks", () => {
    const text = [
      "# HELP traffic_cop_errors_total Protocol errors answered, by code.",
      "# TYPE traffic_cop_errors_total counter",
      'traffic_cop_errors_total{code="BAD}CODE"} 2',
      'traffic_cop_errors_total{code="a,\\"b\\"\\n\\\\"} 1 1700000000000',
      "# TYPE lat histogram",
      'lat_bucket{le="0.1",op="x}"} 1',
      'lat_bucket{le="+Inf",op="x}"} 2',
      'lat_sum{op="x}"} 0.3',
      'lat_count{op="x}"} 2',
      'q{quantile="0.99"} 0.2',
      "gone NaN",
      "",
    ].join("\r\n");
    expect(parsePrometheusText(text)).toEqual({
      'traffic_cop_errors_total{code="BAD}CODE"}': 2,
      'traffic_cop_errors_total{code="a,\\"b\\"\\n\\\\"}': 1,
      'lat_sum{op="x}"}': 0.3,
      'lat_count{op="x}"}': 2,
      'q{quantile="0.99"}': 0.2,
    });
  });

  it("should return what the regular expression returned for the reference gateway's own exposition", () => {
    const metrics = new GatewayMetrics(() => new Map([["tenant-a", 3], ["tenant \"b\"\\", 1]]), () => true);
    metrics.errors.inc({ code: "INVALID_MESSAGE" }, 2);
    metrics.routes.inc({ path: "remote" });
    metrics.redisLatency.observe({ op: "register" }, 0.002);
    metrics.upgradesRefused.inc({ status: "401" });
    const text = metrics.render();
    const parsed = parsePrometheusText(text);
    expect(parsed).toEqual(legacyParse(text));
    expect(parsed['traffic_cop_errors_total{code="INVALID_MESSAGE"}']).toBe(2);
  });

  it("should agree with the regular expression on any input it could read, and round-trip every label value", () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    const plainValue = fc.string({ maxLength: 12 }).filter((v) => !/[}\\"\n\r]/.test(v));
    const anyValue = fc.string({ maxLength: 12, unit: "binary" }).filter((v) => !v.includes("\r"));
    fc.assert(
      fc.property(name, fc.array(fc.tuple(name, plainValue), { maxLength: 3 }), fc.integer(), (n, labels, v) => {
        const unique = [...new Map(labels).entries()];
        const line = `${seriesKey({ name: n, labels: unique })} ${v}`;
        expect(parsePrometheusText(line)).toEqual(legacyParse(line));
      }),
    );
    fc.assert(
      fc.property(name, fc.array(fc.tuple(name, anyValue), { maxLength: 3 }), fc.double({ noNaN: true, noDefaultInfinity: true }), (n, labels, v) => {
        const line = `${seriesKey({ name: n, labels })} ${v}`;
        // String(-0) is "0": compare with the number the text says.
        expect(parsePrometheusLine(line)).toEqual({ name: n, labels, value: Number(String(v)) });
      }),
    );
  });

  it("should stop at 200 series", () => {
    const text = Array.from({ length: 300 }, (_, i) => `s${i} ${i}`).join("\n");
    expect(Object.keys(parsePrometheusText(text))).toHaveLength(200);
  });
});

describe("metricsText", () => {
  it("should answer the body of a 200 and nothing for another status or no server", async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === "/metrics" ? 200 : 503;
      res.end("traffic_cop_reaped_records_total 3\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await metricsText(`${base}/metrics`, 2_000)).toBe("traffic_cop_reaped_records_total 3\n");
      expect(await metricsText(`${base}/other`, 2_000)).toBeUndefined();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await metricsText(`${base}/metrics`, 2_000)).toBeUndefined();
  });
});
