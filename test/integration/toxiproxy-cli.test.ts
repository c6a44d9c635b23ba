/** `npm run toxiproxy`: the server as a real foreground child process. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { probeTcp } from "../../harness/common/tcp-probe.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Toxiproxy } from "toxiproxy-node-client";
import { describe, expect, it, onTestFinished } from "vitest";

const MAIN = join(import.meta.dirname, "../../harness/toxiproxy/main.ts");
const START_TIMEOUT_MS = 15_000;

interface Child {
  process: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

function run(args: string[]): Child {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out: Child = { process: child, stdout: "", stderr: "", exit: once(child, "exit").then(([code]) => code as number | null) };
  child.stdout!.on("data", (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (out.stderr += chunk.toString()));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await out.exit;
    }
  });
  return out;
}

async function refused(port: number): Promise<boolean> {
  return (await probeTcp("127.0.0.1", port)) === "refused";
}

describe("npm run toxiproxy", () => {
  it("should populate from --config, log one listening line, and exit 0 on SIGTERM closing every listener", async () => {
    const dir = await mkdtemp(join(tmpdir(), "toxiproxy-cli-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const config = join(dir, "proxies.json");
    await writeFile(config, JSON.stringify([{ name: "redis", listen: "127.0.0.1:0", upstream: "localhost:6379" }]));
    const child = run(["-host", "127.0.0.1", "--port", "0", "-config", config, "--seed", "9", "--proxy-metrics"]);
    await expect.poll(() => child.stdout, { timeout: START_TIMEOUT_MS, interval: 20 }).toContain('"event":"listening"');
    const lines = child.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const listening = JSON.parse(lines[0]!) as { port: number; url: string; seed: number };
    expect(listening).toMatchObject({ url: `http://127.0.0.1:${listening.port}`, seed: 9 });
    const proxies = await new Toxiproxy(listening.url).getAll();
    expect(Object.keys(proxies)).toEqual(["redis"]);
    const proxyPort = Number(proxies.redis!.listen.split(":")[1]);
    expect(await refused(proxyPort)).toBe(false);
    expect((await fetch(`${listening.url}/metrics`)).status).toBe(200);
    child.process.kill("SIGTERM");
    expect(await child.exit).toBe(0);
    expect(await refused(listening.port)).toBe(true);
    expect(await refused(proxyPort)).toBe(true);
  });

  it("should say why a --config cannot be read or applied, and serve without it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "toxiproxy-cli-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const invalid = join(dir, "invalid.json");
    // The second proxy has no upstream: /populate checks every item first and creates none.
    await writeFile(invalid, JSON.stringify([{ name: "ok", listen: "127.0.0.1:0", upstream: "localhost:6379" }, { name: "broken", listen: "127.0.0.1:0" }]));
    for (const [config, event] of [[join(dir, "missing.json"), "config_unreadable"], [invalid, "populate_failed"]] as const) {
      const child = run(["--port", "0", "--config", config]);
      await expect.poll(() => child.stdout, { timeout: START_TIMEOUT_MS, interval: 20 }).toContain('"event":"listening"');
      const logged = child.stderr.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logged, child.stderr).toEqual([expect.objectContaining({ level: "error", event, config, message: expect.any(String) })]);
      if (event === "populate_failed") expect(logged[0]).toMatchObject({ status: 400 });
      const { url } = JSON.parse(child.stdout) as { url: string };
      expect(await new Toxiproxy(url).getAll()).toEqual({});
      child.process.kill("SIGTERM");
      expect(await child.exit).toBe(0);
    }
  });

  it("should print usage and exit 2 on a bad flag", async () => {
    const child = run(["--bogus"]);
    expect(await child.exit).toBe(2);
    expect(child.stderr).toContain("flag provided but not defined: -bogus");
    expect(child.stderr).toContain("usage: npm run toxiproxy");
  });

  it("should print the version", async () => {
    const child = run(["-version"]);
    expect(await child.exit).toBe(0);
    expect(child.stdout).toBe("toxiproxy-server version 2.12.0\n");
  });
});
