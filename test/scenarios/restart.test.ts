import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RunResult } from "../../harness/report/run-result.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { REPO_ROOT } from "../../harness/runtime/sut.js";
import { isProcessAlive, sweepOrphans } from "../../harness/runtime/sweep.js";

const SEED = 20_261_125;

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; out: string; stepSummary: string }> {
  const out = await mkdtemp(join(tmpdir(), "traffic-cop-reports-"));
  onTestFinished(() => rm(out, { recursive: true, force: true }));
  // As on GitHub Actions: the run appends its Markdown summary to this file.
  const stepSummary = join(await mkdtemp(join(tmpdir(), "traffic-cop-summary-")), "step-summary.md");
  onTestFinished(() => rm(dirname(stepSummary), { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "harness/cli/main.ts", ...args, "--out", out], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1", GITHUB_STEP_SUMMARY: stepSummary } });
  onTestFinished(() => {
    // If the test failed mid-run, end the CLI and anything it left.
    if (child.pid !== undefined && isProcessAlive(child.pid)) child.kill("SIGKILL");
    sweepOrphans();
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  return { code, stdout, stderr, out, stepSummary };
}

async function readRun(out: string): Promise<{ dir: string; run: RunResult; files: string[] }> {
  // The reports root also holds index.html, the runs index: the run is the one directory.
  const [runDir] = (await readdir(out, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const dir = join(out, runDir!);
  return { dir, run: JSON.parse(await readFile(join(dir, "run.json"), "utf8")) as RunResult, files: (await readdir(dir)).sort() };
}

describe("scenario restart (ci profile)", { timeout: 180_000 }, () => {
  it("should pass against the reference gateway with the Redis registry", async () => {
    const { code, stdout, stderr, out, stepSummary } = await runCli(["restart", "--seed", String(SEED)]);
    expect(code, stderr).toBe(0);
    const { dir, run, files } = await readRun(out);
    expect(files).toEqual(["index.html", "junit.xml", "run.json"]);
    expect(stdout.trim().split("\n").at(-1)).toBe(`report: ${dir}`);
    expect(run).toMatchObject({ scenario: "restart", status: "passed", exit_code: 0, seed: SEED, profile: "ci" });
    expect(run.checks.map((c) => [c.name, c.pass])).toEqual([
      ["restart-survival", true],
      ["no-ghosts", true],
      ["delivery", true],
      ["threshold: ack p99 < 1000 ms", true],
      ["threshold: connect p99 < 2000 ms", true],
      ["threshold: reconnect max < 5000 ms", true],
    ]);
    expect((await readdir(out)).sort()).toEqual([basename(dir), "index.html"].sort());
    expect(await readFile(join(out, "index.html"), "utf8")).toContain(`href="./${basename(dir)}/index.html"`);
    const summary = await readFile(stepSummary, "utf8");
    expect(summary).toContain(`### restart: passed (exit 0), seed ${SEED}`);
    expect(summary).toContain("| threshold: ack p99 &lt; 1000 ms | ✅ pass |");
    expect(stderr).toMatch(/threshold: ack p99 < 1000 ms\s+pass\s+[\d.]+ ms/);
    expect(run.events.some((e) => e.source === "fault" && e.type === "fault_end" && e.kind === "restart_instance")).toBe(true);
    expect(run.events.some((e) => e.source === "fleet" && e.type === "message_received")).toBe(true);
    expect(run.samples.length).toBeGreaterThan(5);
    expect(run.samples.some((s) => "records" in s.registry && s.registry.records > 0)).toBe(true);
    expect(await readFile(join(dir, "junit.xml"), "utf8")).toContain('<testcase classname="scenario.restart" name="restart-survival"');
    expect(await readFile(join(dir, "index.html"), "utf8")).toContain(`"run_id":"${run.run_id}"`);
    expect(await findLeftovers({ runId: run.run_id, ports: (run.topology.instances as { port: number }[]).map((i) => i.port) })).toEqual({ processes: [], listening: [] });
  });

  it("should fail with exit code 1 under --registry memory", async () => {
    const { code, stderr, out } = await runCli(["restart", "--seed", String(SEED), "--registry", "memory"]);
    expect(code, stderr).toBe(1);
    const { run } = await readRun(out);
    expect(run.status).toBe("failed");
    const verdicts = Object.fromEntries(run.checks.map((c) => [c.name, c.pass]));
    expect(verdicts).toMatchObject({ "restart-survival": false, "no-ghosts": false });
    expect(await findLeftovers({ runId: run.run_id })).toEqual({ processes: [], listening: [] });
  });
});
