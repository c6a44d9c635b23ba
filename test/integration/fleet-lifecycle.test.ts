import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { findFreePort } from "../../harness/common/free-port.js";
import { ClientFleet } from "../../harness/fleet/client-fleet.js";
import type { FleetEvent, FleetEventOf } from "../../harness/fleet/fleet-events.js";
import { processTags } from "../../harness/runtime/process-tags.js";
import { startGateway, TEST_AUTH_SECRET } from "../helpers/gateway.js";
import { environOf, isProcessAlive } from "../helpers/processes.js";
import { useRedisServer } from "../helpers/redis.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("ClientFleet lifecycle", { timeout: 60_000 }, () => {
  it("should tag workers for the orphan sweep, stop idempotently and concurrently, and leave no worker process", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const fleet = await new ClientFleet({ targets: [`ws://127.0.0.1:${gateway.port}`], clients: 40, workers: 2, authSecret: TEST_AUTH_SECRET, seed: 3, runId: "fleet-lifecycle" }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    await fleet.waitForConnected(40, 20_000);
    for (const pid of fleet.workerPids) {
      expect(await environOf(pid)).toMatchObject(processTags("fleet-lifecycle"));
    }
    const [a, b] = await Promise.all([fleet.stop(), fleet.stop()]);
    expect(a).toBe(b);
    expect(a.connected).toBe(0);
    for (const pid of a.workerPids) expect(isProcessAlive(pid)).toBe(false);
    await expect(fleet.waitForConnected(1, 1_000)).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
  });

  it("should report a stall of a worker's event loop with the worker's index (its clients' pongs wait meanwhile)", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const stalls: { worker: number; from: number; durationMs: number }[] = [];
    const fleet = await new ClientFleet({
      targets: [`ws://127.0.0.1:${gateway.port}`],
      clients: 8,
      workers: 2,
      authSecret: TEST_AUTH_SECRET,
      seed: 5,
      onStall: (worker, from, durationMs) => stalls.push({ worker, from, durationMs }),
    }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    await fleet.waitForConnected(8, 20_000);
    const pid = fleet.workerPids[1]!;
    const stoppedAt = Date.now();
    process.kill(pid, "SIGSTOP");
    // The stall itself: the worker runs nothing for this long.
    await new Promise((resolve) => setTimeout(resolve, 700));
    process.kill(pid, "SIGCONT");
    await expect.poll(() => stalls.find((s) => s.worker === 1 && Math.abs(s.from - stoppedAt) <= 200), { timeout: 5_000 }).toBeDefined();
    expect(stalls.find((s) => s.worker === 1)!.durationMs).toBeGreaterThanOrEqual(600);
  });

  it("should ramp only below the ramp limit until it is raised", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const events: FleetEvent[] = [];
    const fleet = await new ClientFleet({ targets: [`ws://127.0.0.1:${gateway.port}`], clients: 24, workers: 2, rampLimit: 10, authSecret: TEST_AUTH_SECRET, seed: 8, onEvent: (event) => events.push(event) }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    await fleet.waitForConnected(10, 20_000);
    const attempted = new Set(events.filter((event) => event.type === "connect_attempt").map((event) => event.client));
    expect(attempted).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `c${i}`)));
    expect(fleet.snapshot()).toMatchObject({ connected: 10, pending: 14 });
    fleet.setRampLimit(24);
    await fleet.waitForConnected(24, 20_000);
    expect(() => fleet.setRampLimit(-1)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
  });

  it("should report connect errors, time out waiting, and stop while clients are still retrying", async () => {
    const port = await findFreePort();
    const events: FleetEvent[] = [];
    const fleet = await new ClientFleet({
      targets: [`ws://127.0.0.1:${port}`],
      clients: 8,
      authSecret: "unused",
      seed: 4,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
      onEvent: (event) => events.push(event),
    }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    await expect(fleet.waitForConnected(8, 800)).rejects.toMatchObject({ code: "HARNESS_ERR_FLEET_TIMEOUT" });
    const summary = await fleet.stop();
    expect(summary.welcomes).toBe(0);
    expect(summary.connectErrors).toBeGreaterThanOrEqual(16);
    const errors = events.filter((event) => event.type === "connect_error");
    expect(errors.length).toBe(summary.connectErrors);
    expect(errors.every((event) => event.reason === "ECONNREFUSED")).toBe(true);
    // Retries back off: each client's attempts are numbered 0, 1, 2, ... with growing delays.
    const attempts = events.filter((event): event is FleetEventOf<"connect_attempt"> => event.type === "connect_attempt" && event.client === "c0");
    expect(attempts.map((event) => event.attempt)).toEqual(attempts.map((_, i) => i));
    for (const pid of summary.workerPids) expect(isProcessAlive(pid)).toBe(false);
  });

  it("should record a refused upgrade's HTTP status and keep retrying with backoff", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const events: FleetEvent[] = [];
    const fleet = await new ClientFleet({
      targets: [`ws://127.0.0.1:${gateway.port}`],
      clients: 4,
      authSecret: "not-the-gateway-secret",
      seed: 6,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
      onEvent: (event) => events.push(event),
    }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    await expect.poll(() => events.filter((event) => event.type === "connect_error").length, { timeout: 10_000 }).toBeGreaterThanOrEqual(8);
    const summary = await fleet.stop();
    expect(summary.welcomes).toBe(0);
    const errors = events.filter((event) => event.type === "connect_error");
    expect(errors.every((event) => event.status === 401 && event.reason === "HTTP_STATUS" && event.status_text === "UNAUTHORIZED")).toBe(true);
  });

  it("should refuse a second start and bad options with stable codes", async () => {
    expect(() => new ClientFleet({ targets: ["ws://8.8.8.8:80"], clients: 1, authSecret: "s", seed: 1 })).toThrow(
      expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }),
    );
    const port = await findFreePort();
    const fleet = new ClientFleet({ targets: [`ws://127.0.0.1:${port}`], clients: 1, authSecret: "s", seed: 1 });
    const started = await fleet.start();
    onTestFinished(() => started.stop().then(() => undefined));
    await expect(fleet.start()).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    expect(() => started.setMessageRate(-5)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
    expect(() => started.setTargets(["ws://example.com:80"])).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
  });

  it("should end its workers when the parent process dies (kill -9)", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const dir = await mkdtemp(join(tmpdir(), "fleet-parent-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const script = join(dir, "parent.mts");
    await writeFile(
      script,
      `import { ClientFleet } from ${JSON.stringify(pathToFileURL(join(ROOT, "harness/fleet/client-fleet.ts")).href)};
const fleet = await new ClientFleet({ targets: [${JSON.stringify(`ws://127.0.0.1:${gateway.port}`)}], clients: 20, workers: 2, authSecret: ${JSON.stringify(TEST_AUTH_SECRET)}, seed: 5 }).start();
await fleet.waitForConnected(20, 20000);
console.log(JSON.stringify({ pids: fleet.workerPids }));
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    onTestFinished(() => {
      parent.kill("SIGKILL");
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once("line", resolve);
      parent.once("exit", (code) => reject(new Error(`parent exited with ${code} before reporting its workers`)));
    });
    const pids = (JSON.parse(line) as { pids: number[] }).pids;
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);
    onTestFinished(() => {
      for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    });
    parent.kill("SIGKILL");
    await expect.poll(() => pids.filter(isProcessAlive), { timeout: 10_000 }).toEqual([]);
  });
});
