import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { listTaggedProcesses } from "../../harness/runtime/sweep.js";
import { listTempDirs } from "../../harness/runtime/temp-dirs.js";
import { readRun, startCli, type Cli } from "../helpers/cli.js";

/** Waits until the run printed `phase <name>` and returns its run id. */
async function runIdOnceIn(cli: Cli, phase: string): Promise<string> {
  await expect.poll(() => cli.output().includes(`phase ${phase}\n`), { timeout: 60_000, interval: 50 }).toBe(true);
  const match = /run (\S+): scenario/.exec(cli.output());
  expect(match, cli.output()).not.toBeNull();
  return match![1]!;
}

describe("harness cleanup (CLI process)", { timeout: 120_000 }, () => {
  it("should tear everything down on Ctrl-C, write an aborted report and exit 2", async () => {
    const cli = await startCli(["restart", "--seed", "3", "--duration", "30"]);
    const runId = await runIdOnceIn(cli, "load");
    expect(listTaggedProcesses({ runId }).length).toBeGreaterThan(0);
    cli.child.kill("SIGINT");
    expect(await cli.exited, cli.output()).toBe(2);
    const run = (await readRun(cli.out)).run;
    expect(run).toMatchObject({ run_id: runId, status: "aborted", exit_code: 2, error: { code: "HARNESS_ERR_ABORTED" } });
    const ports = (run.topology.instances as { port: number }[]).map((i) => i.port);
    expect(ports.length).toBe(3);
    expect(await findLeftovers({ runId, ports })).toEqual({ processes: [], listening: [] });
    // Redis's data directory went with it.
    expect(listTempDirs(cli.child.pid!)).toEqual([]);
  });

  it("should kill everything at once on a second signal, exit 130 or 143 and leave no process or directory", async () => {
    const cli = await startCli(["restart", "--seed", "6", "--duration", "30"]);
    const runId = await runIdOnceIn(cli, "load");
    const started = listTaggedProcesses({ runId });
    expect(started.some((p) => p.command.startsWith("redis-server"))).toBe(true);
    expect(listTempDirs(cli.child.pid!).length).toBeGreaterThan(0);
    // Two signals at once, the second while the first one's teardown in order is under way. Two of one kind sent
    // at once may reach the process as one (a pending signal is not queued twice); SIGINT and SIGTERM are two, in
    // either order: the exit code is the second one's (130 or 143).
    cli.child.kill("SIGINT");
    cli.child.kill("SIGTERM");
    const code = await cli.exited;
    const second = /second (SIGINT|SIGTERM): killed \d+ process\(es\) of run /.exec(cli.output())?.[1];
    expect(second, cli.output()).toBeDefined();
    expect(code).toBe(second === "SIGINT" ? 130 : 143);
    await expect.poll(() => findLeftovers({ runId }), { timeout: 5_000 }).toEqual({ processes: [], listening: [] });
    expect(listTempDirs(cli.child.pid!)).toEqual([]);
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
    // And so does Redis's data directory, named after the harness that made it.
    const orphanDirs = listTempDirs(cli.child.pid!);
    expect(orphanDirs.length).toBeGreaterThan(0);

    // The next run sweeps at start. A SUT that cannot start keeps that run short; the sweep comes first.
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-sut-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const sutFile = join(dir, "broken-sut.json");
    await writeFile(sutFile, JSON.stringify({ name: "exits-at-once", command: "${NODE}", args: ["-e", "process.exit(3)"], startupTimeoutMs: 5_000 }));
    const next = await startCli(["restart", "--seed", "5", "--sut", sutFile]);
    expect(await next.exited, next.output()).toBe(2);
    const nextRun = (await readRun(next.out)).run;
    const swept = nextRun.events.find((e) => e.type === "run_start")?.swept_orphans as number[];
    expect(swept).toEqual(expect.arrayContaining(redisOrphans.map((p) => p.pid)));
    await expect.poll(() => findLeftovers({ runId }), { timeout: 5_000 }).toEqual({ processes: [], listening: [] });
    expect(await findLeftovers({ runId: nextRun.run_id })).toEqual({ processes: [], listening: [] });
    expect(listTempDirs(cli.child.pid!)).toEqual([]);
    expect(listTempDirs(next.child.pid!)).toEqual([]);
  });
});
