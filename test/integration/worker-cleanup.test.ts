import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { isProcessAlive, listTaggedProcesses } from "../../harness/runtime/sweep.js";
import config, { SETUP_FILES } from "../../vitest.config.js";

const ROOT = new URL("../..", import.meta.url).pathname;
/** How long a signalled worker may take to clean up and vitest to end: both are synchronous kills and a few reads of /proc. */
const GONE_WITHIN_MS = 15_000;

/**
 * Runs vitest on test/fixtures/worker-cleanup (the project's setup files and pool) in a process group of its own,
 * and resolves with the pids the fixture's test wrote: its worker and the tagged child it left.
 */
async function runFixture(mode: "hang" | "finish"): Promise<{ vitest: ReturnType<typeof spawn>; exited: Promise<unknown>; worker: number; child: number }> {
  const dir = await mkdtemp(join(tmpdir(), "traffic-cop-worker-cleanup-"));
  const file = join(dir, "pids.json");
  const vitest = spawn(join(ROOT, "node_modules", ".bin", "vitest"), ["run", "--config", "test/fixtures/worker-cleanup/vitest.config.ts"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TC_LEAK_FILE: file, TC_LEAK_MODE: mode, TC_LEAK_RUN_ID: `test-worker-cleanup-${randomBytes(3).toString("hex")}` },
  });
  let output = "";
  vitest.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  vitest.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(vitest, "exit");
  onTestFinished(async () => {
    try {
      process.kill(-vitest.pid!, "SIGKILL");
    } catch {
      // Already ended.
    }
    await rm(dir, { recursive: true, force: true });
  });
  let pids: { worker: number; child: number } | undefined;
  await expect
    .poll(
      async () => {
        pids = await readFile(file, "utf8").then((text) => JSON.parse(text) as { worker: number; child: number }, () => undefined);
        return pids !== undefined || vitest.exitCode !== null;
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe(true);
  expect(pids, `the fixture wrote no pids:\n${output}`).toBeDefined();
  onTestFinished(() => {
    try {
      process.kill(pids!.child, "SIGKILL");
    } catch {
      // Cleaned up, as it should be.
    }
  });
  return { vitest, exited, ...pids! };
}

describe("test workers", () => {
  it("should run the harness's last-resort cleanup in every worker", () => {
    expect(config.test?.setupFiles).toEqual([...SETUP_FILES]);
  });

  it("should leave no process a test started when Ctrl-C ends the run mid-test", { timeout: 60_000 }, async () => {
    const { vitest, exited, worker, child } = await runFixture("hang");
    // The test's child is alive, tagged as owned by the worker, in a process group of its own (Ctrl-C does not reach it).
    expect(listTaggedProcesses({ ownerPid: worker }).map((p) => p.pid)).toEqual([child]);
    // Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
    process.kill(-vitest.pid!, "SIGINT");
    await expect.poll(() => isProcessAlive(child), { timeout: GONE_WITHIN_MS, interval: 100 }).toBe(false);
    await exited;
    // The worker ends as well (vitest itself may end first).
    await expect.poll(() => isProcessAlive(worker), { timeout: GONE_WITHIN_MS, interval: 100 }).toBe(false);
  });

  it("should leave no process a test forgot to stop once the run ends (vitest ends its workers with SIGTERM)", { timeout: 60_000 }, async () => {
    const { exited, child } = await runFixture("finish");
    await exited;
    await expect.poll(() => isProcessAlive(child), { timeout: GONE_WITHIN_MS, interval: 100 }).toBe(false);
  });
});
