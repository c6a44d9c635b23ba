import { describe, expect, it } from "vitest";
import { parseCliArgs } from "./args.js";

describe("parseCliArgs", () => {
  it("should parse every flag of the CLI contract", () => {
    expect(
      parseCliArgs(["restart", "other", "--runtime", "local", "--instances", "4", "--clients", "100", "--duration", "5", "--seed", "9", "--profile", "release", "--registry", "memory", "--baseline", "b.json", "--summary", "s.md", "--out", "/tmp/r", "--screenshot"]),
    ).toEqual({ names: ["restart", "other"], list: false, help: false, version: false, screenshot: true, runtime: "local", instances: 4, clients: 100, durationS: 5, seed: 9, profile: "release", registry: "memory", baseline: "b.json", summary: "s.md", out: "/tmp/r" });
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
  ];
  for (const { argv } of BAD) {
    it(`should reject ${JSON.stringify(argv)} with HARNESS_ERR_USAGE`, () => {
      expect(() => parseCliArgs(argv)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE" }));
    });
  }
});
