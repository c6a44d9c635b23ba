import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseArgs as parseFleetArgs } from "../../bench/fleet.js";
import { numericFlags } from "../../bench/numeric-flags.js";
import { HarnessError } from "../../harness/errors.js";
import { processTags } from "../../harness/runtime/process-tags.js";
import { isProcessAlive, killOwnedProcessTreesSync, listTaggedProcesses } from "../../harness/runtime/sweep.js";
import { listTempDirs } from "../../harness/runtime/temp-dirs.js";

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * A tagged process owned by this test worker that starts a grandchild in a process group of its own, tagged with
 * the child as owner (as a scenario CLI run by a benchmark tags its gateways), and prints the grandchild's pid.
 */
const PARENT = `
const { spawn } = require("node:child_process");
const grandchild = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
  stdio: "ignore", detached: true,
  env: { ...process.env, TRAFFIC_COP_RUN_ID: process.env.TRAFFIC_COP_RUN_ID + "-inner", TRAFFIC_COP_OWNER_PID: String(process.pid) },
});
grandchild.unref();
console.log(grandchild.pid);
setInterval(() => {}, 1000);
`;

describe("killOwnedProcessTreesSync", () => {
  it("should kill this process's tagged children and the tagged processes they own in turn", async () => {
    const runId = `test-tree-${randomBytes(3).toString("hex")}`;
    const child = spawn(process.execPath, ["-e", PARENT], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...processTags(runId) } });
    const [line] = (await new Promise<string[]>((resolve) => createInterface({ input: child.stdout! }).once("line", (l) => resolve([l])))) as [string];
    const grandchild = Number(line);
    onTestFinished(() => {
      child.kill("SIGKILL");
      try {
        process.kill(grandchild, "SIGKILL");
      } catch {
        // already gone
      }
    });
    await expect.poll(() => listTaggedProcesses().filter((p) => p.runId.startsWith(runId)).map((p) => p.pid).sort()).toEqual([child.pid!, grandchild].sort());
    const killed = killOwnedProcessTreesSync().map((p) => p.pid);
    expect(killed).toEqual(expect.arrayContaining([child.pid!, grandchild]));
    await expect.poll(() => [isProcessAlive(child.pid!), isProcessAlive(grandchild)], { timeout: 10_000 }).toEqual([false, false]);
  });
});

describe("npm run bench on Ctrl-C", () => {
  it("should exit 130 and leave none of the processes it started (Redis, proxy, gateways, fleet workers)", { timeout: 90_000 }, async () => {
    const bench = spawn(process.execPath, ["--import", "tsx", "bench/main.ts", "scale", "--sockets", "200", "--instances", "2", "--hold", "600", "--ramp", "0"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => void bench.kill("SIGKILL"));
    let stderr = "";
    bench.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => bench.once("exit", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: bench.stdout! }).on("line", (line) => {
        if (/all 200 connected/.test(line)) resolve();
      });
      void exited.then((code) => reject(new Error(`the benchmark exited (${code}) before it held its sockets:\n${stderr}`)));
    });
    const started = listTaggedProcesses({ ownerPid: bench.pid! });
    // redis-server, the proxy server, two gateways and a fleet worker at least.
    expect(started.length).toBeGreaterThanOrEqual(5);
    expect(started.some((p) => p.command.includes("redis-server"))).toBe(true);
    expect(listTempDirs(bench.pid!).length).toBeGreaterThan(0);
    bench.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/SIGINT: benchmark scale stopped; killed \d+ process\(es\) it started/);
    await expect.poll(() => started.filter((p) => isProcessAlive(p.pid)).map((p) => p.command), { timeout: 10_000 }).toEqual([]);
    expect(listTaggedProcesses({ ownerPid: bench.pid! })).toEqual([]);
    // Redis's data directory too.
    expect(listTempDirs(bench.pid!)).toEqual([]);
  });
});

/** Runs `npm run bench -- <args>` to its end: exit code and stderr. */
async function benchCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const bench = spawn(process.execPath, ["--import", "tsx", "bench/main.ts", ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  onTestFinished(() => void bench.kill("SIGKILL"));
  let stderr = "";
  bench.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => bench.once("exit", (exitCode) => resolve(exitCode)));
  return { code, stderr };
}

describe("npm run bench with bad arguments", () => {
  it.each([
    // A bad value, refused when the benchmark reads it.
    { args: ["fleet", "--sockets", "many"], says: "--sockets must be a positive integer; got many" },
    { args: ["registry", "--n", "10"], says: "usage: npm run bench -- registry" },
    { args: ["nonesuch"], says: "usage: npm run bench -- <name> [args]" },
  ])("should exit 2 with one message and no stack for $args", { timeout: 30_000 }, async ({ args, says }) => {
    const { code, stderr } = await benchCli(args);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(says);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it.each([
    // A misspelt flag once ran five rounds of the defaults (minutes) instead of failing.
    { args: ["--rounsd", "1"], says: "unknown flag --rounsd" },
    { args: ["--gateways", "2", "--rounds", "1"], says: "unknown flag --rounds with --gateways" },
    { args: ["--rounds"], says: "--rounds needs a value" },
    { args: ["--bogus"], says: "unknown flag --bogus" },
    { args: ["--rounds", "1", "--bogus"], says: "unknown flag --bogus" },
    { args: ["--rounds", "1", "--rounds=2"], says: "--rounds given twice" },
    { args: ["--no-artillery=yes"], says: "--no-artillery takes no value" },
    { args: ["5"], says: "unexpected argument 5" },
  ])("fleet should refuse $args as a usage error (exit 2 in bench/main.ts)", ({ args, says }) => {
    let thrown: unknown;
    try {
      parseFleetArgs(args);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HarnessError);
    expect(thrown).toMatchObject({ code: "HARNESS_ERR_USAGE", message: expect.stringContaining(says) });
  });

  it("should read the numeric flags of gateway, scale and long-run as --name N or --name=N over their defaults", () => {
    const defaults = { sockets: 40_000, ramp: 2_000 };
    const min = (name: string) => (name === "ramp" ? 0 : 1);
    expect(numericFlags(["--sockets", "100", "--ramp=0"], defaults, { min })).toEqual({ sockets: 100, ramp: 0 });
    expect(numericFlags([], defaults)).toEqual(defaults);
  });

  it.each([
    { args: ["--sockets=-1"], says: "unknown or bad argument --sockets=-1; known: --sockets N --ramp N (positive integers)" },
    { args: ["--sockets", "-1"], says: "unknown or bad argument --sockets -1;" },
    { args: ["--sockets"], says: "unknown or bad argument --sockets (no value);" },
    { args: ["--sockets", "2.5"], says: "unknown or bad argument --sockets 2.5;" },
    { args: ["--sockets="], says: "unknown or bad argument --sockets=;" },
    { args: ["--ramp", "0", "--sockets", "0"], says: "unknown or bad argument --sockets 0;" },
    { args: ["--socket", "5"], says: "unknown or bad argument --socket 5;" },
    { args: ["--constructor", "5"], says: "unknown or bad argument --constructor 5;" },
    { args: ["5"], says: "unknown or bad argument 5 (no value);" },
  ])("numeric flags should refuse $args naming the argument as given", ({ args, says }) => {
    expect(() => numericFlags(args, { sockets: 40_000, ramp: 2_000 }, { min: (name) => (name === "ramp" ? 0 : 1) })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE", message: expect.stringContaining(says) }));
  });

  it("fleet should take its flags in either form, and --no-artillery bare", () => {
    expect(parseFleetArgs(["--rounds", "2", "--sockets=4000", "--no-artillery", "--in-flight", "64", "--servers=3"])).toEqual({ rounds: "2", sockets: "4000", "no-artillery": "true", "in-flight": "64", servers: "3" });
    expect(parseFleetArgs(["--gateways", "4", "--hold", "24000"])).toEqual({ gateways: "4", hold: "24000" });
  });
});
