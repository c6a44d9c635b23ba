/**
 * Cleanup of the containers runtime when the harness does not end normally: Ctrl-C (the run tears down in order
 * and reports `aborted`) and SIGKILL (nothing runs; the next run's start-up sweep removes the containers and
 * networks whose owner is gone). Other runs may sweep concurrently, so the SIGKILL case asserts the objects
 * existed while the harness ran and are gone after a sweep, whoever swept them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listLabelledObjects, sweepDeadRunObjects } from "../../harness/runtime/containers/container-sweep.js";
import { REPO_ROOT } from "../../harness/runtime/sut.js";
import { isProcessAlive, sweepOrphans } from "../../harness/runtime/sweep.js";

async function startCli(): Promise<{ child: ChildProcessWithoutNullStreams; runId: string; exited: Promise<number | null>; stderr: () => string }> {
  const out = await mkdtemp(join(tmpdir(), "traffic-cop-containers-cleanup-"));
  onTestFinished(() => rm(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "harness/cli/main.ts", "restart", "--runtime", "containers", "--duration", "30", "--out", out], { cwd: REPO_ROOT, env: { ...process.env, CI: "1" } });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.pid !== undefined && isProcessAlive(child.pid)) child.kill("SIGKILL");
    await exited;
    // A SIGKILLed harness also leaves its fleet workers (host processes) to the process sweep.
    sweepOrphans();
    await sweepDeadRunObjects();
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // The topology is up once the fleet ramps.
  await expect.poll(() => stderr, { timeout: 60_000, interval: 100 }).toMatch(/phase ramp/);
  const runId = /run (\S+): scenario/.exec(stderr)![1]!;
  return { child, runId, exited, stderr: () => stderr };
}

describe("containers runtime cleanup", { timeout: 120_000 }, () => {
  it("should tear down every container and network of the run on Ctrl-C and exit 2 (aborted)", async () => {
    const { child, runId, exited, stderr } = await startCli();
    expect((await listLabelledObjects(runId)).length).toBe(7);
    child.kill("SIGINT");
    expect(await exited, stderr()).toBe(2);
    expect(stderr()).toMatch(/aborted/);
    expect(await listLabelledObjects(runId)).toEqual([]);
  });

  it("should leave a SIGKILLed run's objects to the next start-up sweep, which removes them", async () => {
    const { child, runId, exited } = await startCli();
    expect((await listLabelledObjects(runId)).length).toBe(7);
    child.kill("SIGKILL");
    await exited;
    await sweepDeadRunObjects();
    expect(await listLabelledObjects(runId)).toEqual([]);
  });
});
