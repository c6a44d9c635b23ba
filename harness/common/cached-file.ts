import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes `code` into `dir` as `<prefix>-<hash><suffix>` (the first 16 hex digits of its SHA-256) unless that file
 * is there already, and returns its path: processes that build the same code share one file. Written then
 * renamed, so that a process starting from it at the same time never sees half a file.
 */
export async function writeContentAddressed(dir: string, prefix: string, suffix: string, code: Uint8Array): Promise<string> {
  const file = join(dir, `${prefix}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}${suffix}`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, code);
    await rename(partial, file);
  }
  return file;
}
