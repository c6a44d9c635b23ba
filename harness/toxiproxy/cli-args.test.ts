import { describe, expect, it } from "vitest";
import { parseToxiproxyArgs } from "./cli-args.js";

describe("parseToxiproxyArgs", () => {
  it("should accept the Go single-dash and the double-dash forms", () => {
    expect(parseToxiproxyArgs(["-host", "0.0.0.0", "-port=9000", "--config", "c.json", "--seed=5", "-proxy-metrics"])).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      config: "c.json",
      seed: 5,
      proxyMetrics: true,
      runtimeMetrics: false,
    });
    expect(parseToxiproxyArgs([])).toMatchObject({ host: "localhost", port: 8474, version: false });
    expect(parseToxiproxyArgs(["--version"]).version).toBe(true);
  });

  it("should refuse unknown flags, missing values and bad numbers with HARNESS_ERR_USAGE", () => {
    for (const argv of [["--nope"], ["--port"], ["--port", "x"], ["--port", "70000"], ["stray"], ["--seed", "1.5"]]) {
      expect(() => parseToxiproxyArgs(argv), argv.join(" ")).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE" }));
    }
  });
});
