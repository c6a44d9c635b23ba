/**
 * Temporary directories the harness makes for the processes it starts (Redis data, cluster and sentinel configs,
 * image build contexts). Each is named `traffic-cop-<kind>-<pid>-XXXXXX` after the process that made it and recorded
 * here, so that:
 * - a stop in order removes it with its process ({@link removeTempDir});
 * - the exit and signal paths, which kill the processes at once instead, remove what is left
 *   ({@link removeOwnedTempDirsSync});
 * - the start-up sweep removes those of a harness that was SIGKILLed ({@link sweepOrphanTempDirs}), as it kills that
 *   harness's processes.
 */
import { readdirSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** `traffic-cop-<kind>-<pid>-` and mkdtemp's six characters. */
const OWNED_NAME = /^traffic-cop-[a-z][a-z-]*-(\d+)-[A-Za-z0-9]{6}$/;

const owned = new Set<string>();

/** Makes `$TMPDIR/traffic-cop-<kind>-<pid>-XXXXXX` and records it as this process's. */
export async function makeTempDir(kind: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `traffic-cop-${kind}-${process.pid}-`));
  owned.add(dir);
  return dir;
}

/** Removes a directory made by {@link makeTempDir} (and whatever is in it). */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  owned.delete(dir);
}

/** Removes every directory this process made and has not removed yet. Synchronous, for `exit` and signal handlers. */
export function removeOwnedTempDirsSync(): string[] {
  const removed: string[] = [];
  for (const dir of owned) {
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Left to the next start-up sweep.
    }
    owned.delete(dir);
  }
  return removed;
}

/**
 * The harness's temporary directories in `root` (`$TMPDIR`) with the pid of their maker, of `pid` only when given.
 */
export function listTempDirs(pid?: number, root: string = tmpdir()): { dir: string; pid: number }[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const maker = OWNED_NAME.exec(name)?.[1];
    return maker === undefined || (pid !== undefined && Number(maker) !== pid) ? [] : [{ dir: join(root, name), pid: Number(maker) }];
  });
}

/**
 * Removes the harness's temporary directories in `root` (`$TMPDIR`) whose maker is dead (`isAlive(pid)` false); a
 * directory of a live process (a concurrent run, another test worker) is left alone. Returns the paths removed.
 */
export function sweepOrphanTempDirs(isAlive: (pid: number) => boolean, root: string = tmpdir()): string[] {
  const removed: string[] = [];
  for (const { dir, pid } of listTempDirs(undefined, root)) {
    if (isAlive(pid)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Not ours to remove after all (permissions): leave it.
    }
  }
  return removed;
}
