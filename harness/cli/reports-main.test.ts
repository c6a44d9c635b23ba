import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseReportsArgs } from "./reports-args.js";

const ROOT = resolve(import.meta.dirname, "../..");

function reports(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ["--import", "tsx", "harness/cli/reports-main.ts", ...argv], { cwd: ROOT }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

describe("parseReportsArgs", () => {
  it("should parse prune with every flag", () => {
    expect(parseReportsArgs(["prune", "--keep", "3", "--older-than", "2h", "--dry-run", "--dir", "/tmp/r"])).toEqual({ command: "prune", keep: 3, olderThanMs: 7_200_000, dryRun: true, dir: "/tmp/r" });
  });

  const BAD = [[], ["prune"], ["prune", "--keep", "-1"], ["prune", "--keep", "x"], ["prune", "--older-than", "7"], ["prune", "--older-than", "1y"], ["prune", "--keep", "1", "extra"], ["purge", "--keep", "1"], ["prune", "--bogus"], ["index", "--keep", "1"], ["prune", "--keep", "1", "--dir", ""]];
  for (const argv of BAD) {
    it(`should reject ${JSON.stringify(argv)} with HARNESS_ERR_USAGE`, () => {
      expect(() => parseReportsArgs(argv)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE" }));
    });
  }
});

describe("npm run reports", () => {
  it("should exit 2 with the usage on a bad flag, and prune a real root", async () => {
    const bad = await reports("prune", "--keep", "many");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--keep must be a non-negative integer");
    expect(bad.stderr).toContain("usage: npm run reports");

    const root = await mkdtemp(join(tmpdir(), "reports-cli-"));
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    for (const [dir, started] of [["a", "2026-01-01T00:00:00.000Z"], ["b", "2026-02-01T00:00:00.000Z"]] as const) {
      await mkdir(join(root, dir));
      await writeFile(join(root, dir, "run.json"), JSON.stringify({ run_id: dir, scenario: "restart", status: "passed", exit_code: 0, started_at: started, duration_ms: 1, seed: 1, profile: "ci", config: {} }));
    }
    const dry = await reports("prune", "--keep", "1", "--dry-run", "--dir", root);
    expect(dry).toMatchObject({ code: 0, stdout: `would remove ${join(root, "a")}\nwould remove 1 run, kept 1\n` });
    expect((await readdir(root)).sort()).toEqual(["a", "b"]);
    const real = await reports("prune", "--keep", "1", "--dir", root);
    expect(real.code).toBe(0);
    expect((await readdir(root)).sort()).toEqual(["b", "index.html"]);
  });
});
