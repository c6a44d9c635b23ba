import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

describe("npm run scenario", () => {
  it("should print the package version for --version and exit 0", async () => {
    const { version } = JSON.parse(await readFile(resolve(ROOT, "package.json"), "utf8")) as { version: string };
    const { stdout } = await run(process.execPath, ["--import", "tsx", "harness/cli/main.ts", "--version"], { cwd: ROOT });
    expect(stdout).toBe(`${version}\n`);
  });
});
