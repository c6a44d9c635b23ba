import { describe, expect, it } from "vitest";
import { parseCliArgs } from "./args.js";

describe("parseCliArgs", () => {
  it("should parse every flag of the CLI contract", () => {
    expect(
      parseCliArgs(["restart", "other", "--runtime", "local", "--instances", "4", "--clients", "100", "--duration", "5", "--seed", "9", "--profile", "release", "--registry", "memory", "--baseline", "b.json", "--summary", "s.md", "--out", "/tmp/r", "--screenshot"]),
    ).toEqual({ names: ["restart", "other"], list: false, help: false, version: false, screenshot: true, runtime: "local", instances: 4, clients: 100, durationS: 5, seed: 9, profile: "release", registry: "memory", baseline: "b.json", summary: "s.md", out: "/tmp/r" });
  });

  it("should parse --baseline-tolerance as a ratio next to --baseline", () => {
    expect(parseCliArgs(["restart", "--baseline", "b.json", "--baseline-tolerance", "1.25"])).toMatchObject({ baseline: "b.json", baselineTolerance: 1.25 });
    expect(parseCliArgs(["restart", "--baseline", "b.json", "--baseline-tolerance", "2"])).toMatchObject({ baselineTolerance: 2 });
  });

  it("should say what --baseline-tolerance takes when it is wrong", () => {
    expect(() => parseCliArgs(["restart", "--baseline", "b.json", "--baseline-tolerance", "0.5"])).toThrow(/--baseline-tolerance must be a ratio from 1 to 1000, e\.g\. 1\.5 .*got "0\.5"/);
    expect(() => parseCliArgs(["restart", "--baseline-tolerance", "1.5"])).toThrow("--baseline-tolerance needs --baseline PATH");
  });

  it("should name the range of an integer flag however its value is wrong", () => {
    for (const value of ["-5", "0", "1e9", "2.5", "x", "200001"]) {
      expect(() => parseCliArgs(["restart", `--clients=${value}`])).toThrow(`--clients must be an integer in 1..200000 (got ${JSON.stringify(value)})`);
    }
    expect(parseCliArgs(["restart", "--clients=200000"])).toMatchObject({ clients: 200_000 });
  });

  it("should accept --version alone", () => {
    expect(parseCliArgs(["--version"])).toMatchObject({ version: true, names: [] });
  });

  const BAD = [
    { argv: ["restart", "--seed", "x"] },
    { argv: ["restart", "--profile", "huge"] },
    { argv: ["restart", "--registry", "mongo"] },
    { argv: ["restart", "--instances", "0"] },
    { argv: ["restart", "--bogus"] },
    { argv: ["restart", "--summary", ""] },
    { argv: ["restart", "--summary"] },
    { argv: [] },
    { argv: ["restart", "--baseline", "b.json", "--baseline-tolerance", "0.9"] },
    { argv: ["restart", "--baseline", "b.json", "--baseline-tolerance", "1.5x"] },
    { argv: ["restart", "--baseline", "b.json", "--baseline-tolerance", "-2"] },
    { argv: ["restart", "--baseline-tolerance", "1.5"] },
  ];
  for (const { argv } of BAD) {
    it(`should reject ${JSON.stringify(argv)} with HARNESS_ERR_USAGE`, () => {
      expect(() => parseCliArgs(argv)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE" }));
    });
  }
});
