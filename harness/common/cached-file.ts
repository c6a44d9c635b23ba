import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * How old (last modified) a file of an earlier build must be before a new build removes it: older than any run
 * that may still start processes from it (a release run is 10 minutes; a run that keeps going for a day after the
 * sources changed under it is not one this folder serves).
 */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Writes `code` into `dir` as `<prefix>-<hash><suffix>` (the first 16 hex digits of its SHA-256) unless that file
 * is there already, and returns its path: processes that build the same code share one file. Written then
 * renamed, so that a process starting from it at the same time never sees half a file. Writing a new file removes
 * what earlier builds left ({@link pruneStale}), so that the folder does not grow with every change of the sources.
 */
export async function writeContentAddressed(dir: string, prefix: string, suffix: string, code: Uint8Array): Promise<string> {
  const file = join(dir, `${prefix}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}${suffix}`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, code);
    await rename(partial, file);
    await pruneStale(dir, prefix);
  }
  return file;
}

/**
 * Removes from `dir` the files of earlier builds last modified more than {@link STALE_AFTER_MS} ago: those of
 * `prefix` (`<prefix>-<16 hex digits>.<extension>`, and partial writes of them that a killed writer left) and V8's
 * code caches (`v8-code-<16 hex digits>.bin`, ./code-cache-loader.cjs). A code cache of a bundle still in use goes
 * too: the next process of that bundle that exits writes it again. Best effort: a file another process removed
 * first, or one that cannot be removed, is left to the next build.
 */
async function pruneStale(dir: string, prefix: string): Promise<void> {
  const ours = new RegExp(`^(${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f]{16}\\.[a-z]+(\\.\\d+\\.tmp)?|v8-code-[0-9a-f]{16}\\.bin(\\.\\d+\\.tmp)?)$`);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!ours.test(name)) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - (await stat(path)).mtimeMs <= STALE_AFTER_MS) continue;
      await rm(path, { force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}
