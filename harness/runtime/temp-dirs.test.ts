import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { isProcessAlive } from "./sweep.js";
import { listTempDirs, makeTempDir, removeOwnedTempDirsSync, removeTempDir, sweepOrphanTempDirs } from "./temp-dirs.js";

/** The pid of a process that has already exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  const pid = Number(child.stdout);
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}

/** Makes `root/<name>` with a file in it, removed after the test whatever happens. */
async function dirNamed(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeFile(join(dir, "dump.rdb"), "x");
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("temporary directories of the harness", () => {
  it("should name a directory after its kind and this process, and remove it", async () => {
    const dir = await makeTempDir("redis");
    expect(basename(dir)).toMatch(new RegExp(`^traffic-cop-redis-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(existsSync(dir)).toBe(true);
    await removeTempDir(dir);
    expect(existsSync(dir)).toBe(false);
    // Removed ones are forgotten: the exit path has nothing left to remove.
    expect(removeOwnedTempDirsSync()).not.toContain(dir);
  });

  it("should remove what is left on the exit path, synchronously", async () => {
    const dirs = [await makeTempDir("redis"), await makeTempDir("image-toxiproxy")];
    await writeFile(join(dirs[0]!, "dump.rdb"), "x");
    expect(removeOwnedTempDirsSync().sort()).toEqual([...dirs].sort());
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
    expect(removeOwnedTempDirsSync()).toEqual([]);
  });

  it("should sweep the directories of dead makers only", async () => {
    // A folder of the test's own, not $TMPDIR: the start-up sweep of any run in a parallel test file would remove
    // these orphans first (a fresh-clone CI run saw this sweep find none).
    const root = await mkdtemp(join(tmpdir(), "temp-dirs-test-"));
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    const dead = deadPid();
    const orphan = await dirNamed(root, `traffic-cop-redis-${dead}-Ab12Cd`);
    const orphanImage = await dirNamed(root, `traffic-cop-image-gateway-${dead}-Xy34Zw`);
    // A live maker (this process, and another live process), names not of this form, another prefix.
    const mine = await dirNamed(root, `traffic-cop-redis-${process.pid}-Ab12Cd`);
    const live = await dirNamed(root, `traffic-cop-cluster-${process.ppid}-Ab12Cd`);
    const unnamed = await mkdtemp(join(root, "traffic-cop-sut-"));
    const other = await dirNamed(root, `other-redis-${dead}-Ab12Cd`);

    expect(listTempDirs(undefined, root).map((d) => d.dir).sort()).toEqual([orphan, orphanImage, mine, live].sort());
    const removed = sweepOrphanTempDirs(isProcessAlive, root);
    expect([...removed].sort()).toEqual([orphan, orphanImage].sort());
    for (const dir of [orphan, orphanImage]) expect(existsSync(dir)).toBe(false);
    for (const dir of [mine, live, unnamed, other]) {
      expect(removed).not.toContain(dir);
      expect(existsSync(dir)).toBe(true);
    }
  });
});
