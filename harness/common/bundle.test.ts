import { execFile } from "node:child_process";
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle } from "./bundle.js";

const run = promisify(execFile);

describe("buildBundle", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), "traffic-cop-bundle-")));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const source = (code: string) => ({ source: code, resolveDir: dir });

  it("gives a classic script its own file URL for import.meta.url, strict, with require for Node's built-ins", async () => {
    const file = join(dir, "url.cjs");
    await writeFile(file, await buildBundle(source('import { EOL } from "node:os";\nfunction strict() { return this === undefined; }\nconsole.log(JSON.stringify({ url: import.meta.url, strict: strict(), eol: EOL }));'), "cjs"));
    const { stdout } = await run(process.execPath, [file]);
    expect(JSON.parse(stdout)).toEqual({ url: pathToFileURL(file).href, strict: true, eol: "\n" });
  });

  it("refuses a classic script that would lose any other import.meta, or use top-level await", async () => {
    await expect(buildBundle(source("console.log(import.meta.dirname);"), "cjs")).rejects.toThrow(/cannot bundle a source entry in .* as cjs: .*import\.meta/);
    await expect(buildBundle(source("await Promise.resolve(1);"), "cjs")).rejects.toThrow(/Top-level await/);
  });

  it("keeps import.meta in an ES module", async () => {
    const file = join(dir, "url.mjs");
    await writeFile(file, await buildBundle(source("console.log(JSON.stringify({ url: import.meta.url, dirname: import.meta.dirname ?? null }));")));
    const { stdout } = await run(process.execPath, [file]);
    expect(JSON.parse(stdout)).toMatchObject({ url: pathToFileURL(file).href });
  });
});
