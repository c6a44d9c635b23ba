import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
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
    // The orphan is judged by what happens to it, not by this sweep's list: a scenario starting in a parallel test
    // file sweeps too and may kill it first (with the same code, so a broken sweep still fails here).
    expect(killed.map((p) => p.pid)).not.toContain(owned.pid);
    expect(killed.every((p) => !isProcessAlive(p.ownerPid))).toBe(true);
    await expect.poll(() => isProcessAlive(orphan.pid!)).toBe(false);
    expect(isProcessAlive(owned.pid!)).toBe(true);
    expect(listTaggedProcesses({ runId }).map((p) => p.pid)).toEqual([owned.pid]);
  });

  it("should count a zombie as dead, and sweep what a zombie owner left", async () => {
    // `sleep 30` (exec'd in place of the shell) never reaps the shell's short-lived background child: a zombie. The
    // child outlives the exec by 0.3 s: one that ended at once (`sleep 0`) was now and then reaped by the shell
    // itself before its exec, and the test then found no process at all.
    const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    onTestFinished(() => void parent.kill("SIGKILL"));
    const [line] = (await once(parent.stdout, "data")) as [Buffer];
    const zombie = Number(line.toString().trim());
    await expect.poll(() => readFileSync(`/proc/${zombie}/stat`, "latin1").split(") ")[1]!.charAt(0), { timeout: 5_000 }).toBe("Z");
    // Signal 0 still reaches it ...
    expect(() => process.kill(zombie, 0)).not.toThrow();
    // ... but it runs no more, and what it owned is an orphan.
    expect(isProcessAlive(zombie)).toBe(false);
    expect(isProcessAlive(parent.pid!)).toBe(true);
    const runId = `test-sweep-${randomBytes(3).toString("hex")}`;
    const orphan = spawnTagged(runId, zombie);
    await expect.poll(() => listTaggedProcesses({ runId }).map((p) => p.pid)).toEqual([orphan.pid]);
    sweepOrphans();
    await expect.poll(() => isProcessAlive(orphan.pid!)).toBe(false);
  });
});
