import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DEFAULT_GATE_JOBS } from "../gate/gate-runner.js";
import { parseGateArgs } from "./gate-args.js";

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

describe("parseGateArgs", () => {
  it("should parse every flag of npm run gate", () => {
    expect(parseGateArgs(["--seed", "9", "--defects", "no-reap,dup-remote", "--scenarios", "ttl", "--full", "--no-reference", "--jobs", "2", "--matrix-duration", "1", "--out", "/tmp/r"])).toEqual({
      help: false,
      seed: 9,
      defects: ["no-reap", "dup-remote"],
      scenarios: ["ttl"],
      full: true,
      reference: false,
      jobs: 2,
      matrixDurationS: 1,
      out: "/tmp/r",
    });
    expect(parseGateArgs([])).toEqual({ help: false, full: false, reference: true, jobs: DEFAULT_GATE_JOBS });
    expect(parseGateArgs(["--jobs", "1"]).jobs).toBe(1);
  });

  for (const argv of [["--seed", "x"], ["--jobs", "3"], ["--jobs", "0"], ["--defects", "a,,b"], ["--scenarios", ""], ["--out", ""], ["--bogus"], ["lookup"]]) {
    it(`should reject ${JSON.stringify(argv)} with HARNESS_ERR_USAGE`, () => {
      expect(() => parseGateArgs(argv)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE" }));
    });
  }

  it("should exit 2 with the error and the usage for an unknown defect, before starting anything", async () => {
    const failed = await execFileAsync(process.execPath, ["--import", "tsx", "harness/cli/gate-main.ts", "--defects", "no-reap,bogus"], { cwd: ROOT }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toMatch(/^error HARNESS_ERR_USAGE: --defects: unknown defect "bogus"; known: no-unregister,/);
    expect((failed as { stderr: string }).stderr).toContain("usage: npm run gate");
  });
});
