import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RunResult } from "../../harness/report/run-result.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { REPO_ROOT } from "../../harness/runtime/sut.js";
import { isProcessAlive, listTaggedProcesses, sweepOrphans } from "../../harness/runtime/sweep.js";

/** A started CLI process with its output so far. */
interface Cli {
  child: ChildProcess;
  out: string;
  output(): string;
  exited: Promise<number | null>;
}

async function startCli(args: string[]): Promise<Cli> {
  const out = await mkdtemp(join(tmpdir(), "traffic-cop-cleanup-"));
  onTestFinished(() => rm(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "harness/cli/main.ts", ...args, "--out", out], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1" } });
  onTestFinished(() => {
    if (child.pid !== undefined && isProcessAlive(child.pid)) child.kill("SIGKILL");
    sweepOrphans();
  });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, out, output: () => text, exited };
}

/** Waits until the run printed `phase <name>` and returns its run id. */
async function runIdOnceIn(cli: Cli, phase: string): Promise<string> {
  await expect.poll(() => cli.output().includes(`phase ${phase}\n`), { timeout: 60_000, interval: 50 }).toBe(true);
  const match = /run (\S+): scenario/.exec(cli.output());
  expect(match, cli.output()).not.toBeNull();
  return match![1]!;
}

async function readRun(out: string): Promise<RunResult> {
  // The reports root also holds index.html, the runs index: the run is the one directory.
  const [dir] = (await readdir(out, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return JSON.parse(await readFile(join(out, dir!, "run.json"), "utf8")) as RunResult;
}

describe("harness cleanup (CLI process)", { timeout: 120_000 }, () => {
  it("should tear everything down on Ctrl-C, write an aborted report and exit 2", async () => {
    const cli = await startCli(["restart", "--seed", "3", "--duration", "30"]);
    const runId = await runIdOnceIn(cli, "load");
    expect(listTaggedProcesses({ runId }).length).toBeGreaterThan(0);
    cli.child.kill("SIGINT");
    expect(await cli.exited, cli.output()).toBe(2);
    const run = await readRun(cli.out);
    expect(run).toMatchObject({ run_id: runId, status: "aborted", exit_code: 2, error: { code: "HARNESS_ERR_ABORTED" } });
    const ports = (run.topology.instances as { port: number }[]).map((i) => i.port);
    expect(ports.length).toBe(3);
    expect(await findLeftovers({ runId, ports })).toEqual({ processes: [], listening: [] });
  });

  it("should leave orphans when the CLI is SIGKILLed, and the next run's start-up sweep should remove them", async () => {
    const cli = await startCli(["restart", "--seed", "4", "--duration", "30"]);
    const runId = await runIdOnceIn(cli, "load");
    cli.child.kill("SIGKILL");
    await cli.exited;
    // Nothing could stop what the harness started: Redis outlives it (gateways and fleet workers end by themselves
    // once their pipes or IPC channel close, or are swept too).
    await expect.poll(() => listTaggedProcesses({ runId }).some((p) => p.command.startsWith("redis-server")), { timeout: 5_000 }).toBe(true);
    const redisOrphans = listTaggedProcesses({ runId }).filter((p) => p.command.startsWith("redis-server"));

    // The next run sweeps at start. A SUT that cannot start keeps that run short; the sweep comes first.
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-sut-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const sutFile = join(dir, "broken-sut.json");
    await writeFile(sutFile, JSON.stringify({ name: "exits-at-once", command: "${NODE}", args: ["-e", "process.exit(3)"], startupTimeoutMs: 5_000 }));
    const next = await startCli(["restart", "--seed", "5", "--sut", sutFile]);
    expect(await next.exited, next.output()).toBe(2);
    const nextRun = await readRun(next.out);
    const swept = nextRun.events.find((e) => e.type === "run_start")?.swept_orphans as number[];
    expect(swept).toEqual(expect.arrayContaining(redisOrphans.map((p) => p.pid)));
    await expect.poll(() => findLeftovers({ runId }), { timeout: 5_000 }).toEqual({ processes: [], listening: [] });
    expect(await findLeftovers({ runId: nextRun.run_id })).toEqual({ processes: [], listening: [] });
  });
});
