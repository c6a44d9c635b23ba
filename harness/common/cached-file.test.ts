import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { STALE_AFTER_MS, writeContentAddressed } from "./cached-file.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "traffic-cop-cached-file-"));
  dirs.push(dir);
  return dir;
}

/** A file in `dir` last modified `ageMs` ago. */
async function fileAged(dir: string, name: string, ageMs: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, name);
  const seconds = (Date.now() - ageMs) / 1000;
  await utimes(path, seconds, seconds);
  return path;
}

describe("writeContentAddressed", () => {
  it("names a file by its content's hash and writes it once", async () => {
    const dir = join(await tempDir(), "made-on-demand");
    const first = await writeContentAddressed(dir, "child", ".cjs", new TextEncoder().encode("one"));
    expect(basename(first)).toMatch(/^child-[0-9a-f]{16}\.cjs$/);
    expect(await readFile(first, "utf8")).toBe("one");
    expect(await writeContentAddressed(dir, "child", ".cjs", new TextEncoder().encode("one"))).toBe(first);
    expect(await writeContentAddressed(dir, "child", ".cjs", new TextEncoder().encode("two"))).not.toBe(first);
  });

  it("removes what earlier builds left once it is a day old: the prefix's bundles and partial writes, and V8's code caches", async () => {
    const dir = await tempDir();
    const old = STALE_AFTER_MS + 60_000;
    const stale = [
      await fileAged(dir, "child-0123456789abcdef.cjs", old),
      await fileAged(dir, "child-0123456789abcdef.mjs", old),
      await fileAged(dir, "child-fedcba9876543210.cjs.4242.tmp", old),
      await fileAged(dir, "v8-code-0123456789abcdef.bin", old),
      await fileAged(dir, "v8-code-0123456789abcdef.bin.4242.tmp", old),
    ];
    const kept = [
      // Recent: a run may still start processes from it.
      await fileAged(dir, "child-1111111111111111.cjs", STALE_AFTER_MS - 60_000),
      await fileAged(dir, "v8-code-1111111111111111.bin", STALE_AFTER_MS - 60_000),
      // Another prefix's (its own build prunes it), and files that are not a build's.
      await fileAged(dir, "other-0123456789abcdef.cjs", old),
      await fileAged(dir, "child-notahash.cjs", old),
      await fileAged(dir, "notes.txt", old),
    ];
    const written = await writeContentAddressed(dir, "child", ".cjs", new TextEncoder().encode("new build"));
    for (const path of stale) expect(existsSync(path), path).toBe(false);
    for (const path of [...kept, written]) expect(existsSync(path), path).toBe(true);
  });

  it("removes nothing when the build is already there", async () => {
    const dir = await tempDir();
    const written = await writeContentAddressed(dir, "child", ".cjs", new TextEncoder().encode("same"));
    const stale = await fileAged(dir, "child-0123456789abcdef.cjs", STALE_AFTER_MS + 60_000);
    await writeContentAddressed(dir, "child", ".cjs", new TextEncoder().encode("same"));
    expect(existsSync(stale)).toBe(true);
    expect(existsSync(written)).toBe(true);
  });
});
