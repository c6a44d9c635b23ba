import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const LOADER = fileURLToPath(new URL("./code-cache-loader.cjs", import.meta.url));

/** A classic script that says what it sees as a main module, then exits with the code its first argument names. */
const SCRIPT = `
function strict() { return this === undefined; }
process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), filename: __filename, dirname: __dirname, strict: strict(), resolved: require.resolve("./beside.cjs") }));
process.exitCode = Number(process.argv[2] ?? 0);
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], nodeFlags: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeFlags, LOADER, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("code-cache-loader.cjs", () => {
  let dir: string;
  let script: string;
  let linked: string;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), "traffic-cop-code-cache-")));
    script = join(dir, "real", "bundle.cjs");
    await mkdir(join(dir, "real"));
    await writeFile(script, `"use strict";\n${SCRIPT}`);
    await writeFile(join(dir, "real", "beside.cjs"), "");
    // Reached through a symbolic link, as a bundle under a linked node_modules is.
    await symlink(join(dir, "real"), join(dir, "link"));
    linked = join(dir, "link", "bundle.cjs");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const cacheFiles = async (cacheDir: string) => (await readdir(cacheDir)).filter((name) => /^v8-code-[0-9a-f]{16}\.bin$/.test(name)).sort();

  it("runs the script as the main module: its own real path in argv[1], then its arguments, strict, with its own require", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    const result = await run([cacheDir, linked, "0", "--flag", "x"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toEqual({
      argv: [script, "0", "--flag", "x"],
      filename: script,
      dirname: join(dir, "real"),
      strict: true,
      resolved: join(dir, "real", "beside.cjs"),
    });
  });

  it("passes the script's exit code on, and its errors with their file", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    expect((await run([cacheDir, script, "3"])).code).toBe(3);
    const thrower = join(dir, "real", "throws.cjs");
    await writeFile(thrower, 'throw new Error("boom from the bundle");\n');
    const result = await run([cacheDir, thrower]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("boom from the bundle");
    expect(result.stderr).toContain(thrower);
  });

  it("writes V8's code cache at exit, and a later start takes it without writing it again", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    expect((await run([cacheDir, script])).code).toBe(0);
    const [file] = await cacheFiles(cacheDir);
    expect(file).toBeDefined();
    const first = await stat(join(cacheDir, file!));
    expect(first.size).toBeGreaterThan(0);
    expect((await run([cacheDir, script])).code).toBe(0);
    expect(await cacheFiles(cacheDir)).toEqual([file]);
    // A rewrite renames a new file over it: another inode.
    expect((await stat(join(cacheDir, file!))).ino).toBe(first.ino);
    // No temporary file left behind.
    expect((await readdir(cacheDir)).length).toBe(1);
  });

  it("replaces a cache V8 rejects, and keeps one per set of Node flags", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    expect((await run([cacheDir, script])).code).toBe(0);
    const [file] = await cacheFiles(cacheDir);
    await writeFile(join(cacheDir, file!), "not a code cache");
    const result = await run([cacheDir, script]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toMatchObject({ argv: [script] });
    expect((await readFile(join(cacheDir, file!), "utf8")).startsWith("not a code cache")).toBe(false);
    // V8 takes a cache only for the flags it was made under: other flags, another file.
    expect((await run([cacheDir, script], ["--max-semi-space-size=4"])).code).toBe(0);
    expect((await cacheFiles(cacheDir)).length).toBe(2);
  });

  it("runs the script without a cache where none can be written", async () => {
    const missing = join(dir, "no-such-folder");
    const result = await run([missing, script, "0"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    await expect(stat(missing)).rejects.toThrow(/ENOENT/);
  });

  it("says how to call it when its arguments are missing, and names a bundle that is not there", async () => {
    expect(await run([])).toMatchObject({ code: 2, stderr: expect.stringContaining("usage: node [flags] code-cache-loader.cjs <cache dir> <bundle.cjs> [args...]") });
    const result = await run([dir, join(dir, "absent.cjs")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(join(dir, "absent.cjs"));
  });
});
