import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { processTags } from "../../harness/runtime/process-tags.js";
import { isProcessAlive, listTaggedProcesses, sweepOrphans } from "../../harness/runtime/sweep.js";

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  const pid = child.pid!;
  await new Promise((resolve) => child.once("exit", resolve));
  return pid;
}

function spawnTagged(runId: string, ownerPid: number) {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore", env: { ...process.env, ...processTags(runId, ownerPid) } });
  onTestFinished(() => void child.kill("SIGKILL"));
  return child;
}

describe("sweepOrphans", () => {
  it("should kill a tagged process whose owner is dead and leave one whose owner lives", async () => {
    const runId = `test-sweep-${randomBytes(3).toString("hex")}`;
    const orphan = spawnTagged(runId, await deadPid());
    const owned = spawnTagged(runId, process.pid);
    await expect.poll(() => listTaggedProcesses({ runId }).map((p) => p.pid).sort()).toEqual([orphan.pid, owned.pid].sort());
    const killed = sweepOrphans();
    expect(killed.map((p) => p.pid)).toContain(orphan.pid);
    expect(killed.map((p) => p.pid)).not.toContain(owned.pid);
    await expect.poll(() => isProcessAlive(orphan.pid!)).toBe(false);
    expect(isProcessAlive(owned.pid!)).toBe(true);
    expect(listTaggedProcesses({ runId }).map((p) => p.pid)).toEqual([owned.pid]);
  });
});
