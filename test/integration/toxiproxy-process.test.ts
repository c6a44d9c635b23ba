import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer, connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { findFreePort } from "../../harness/common/free-port.js";
import { Fault } from "../../harness/faults/fault.js";
import { ToxiproxyFaults } from "../../harness/faults/toxiproxy-faults.js";
import { LocalRuntime } from "../../harness/runtime/local-runtime.js";
import { isProcessAlive, listTaggedProcesses } from "../../harness/runtime/sweep.js";
import { REPO_ROOT } from "../../harness/runtime/sut.js";
import { listTempDirs } from "../../harness/runtime/temp-dirs.js";
import { ToxiproxyProcess } from "../../harness/runtime/toxiproxy-process.js";
import { STALL_REPORT_MS } from "../../harness/recorder/loop-stalls.js";
import type { Reporter } from "../../harness/report/reporter.js";
import { defineScenario } from "../../harness/scenario/define-scenario.js";
import { runScenario } from "../../harness/scenario/engine.js";
import { Step } from "../../harness/scenario/step.js";
import { expectNoLeftovers } from "../helpers/scenario-run.js";

/** How long this process's loop stands still in the first test. */
const BLOCK_MS = 1_200;
/**
 * The peer's round trip through the proxy, begun 100 ms into the block, must end within this: a proxy in this
 * process could not forward before the block ends (1,100 ms later; measured: 696 ms with a block of 800); one in its
 * own process takes a few ms, and 600 leaves room for the scheduling delays of a loaded 2-core machine.
 */
const PEER_ROUND_TRIP_BOUND_MS = 600;
/**
 * Another process: an echo server (its port on the first line), then, given a proxy's port on stdin, one round trip
 * through it begun 100 ms later, its duration in ms on the second line.
 */
const PEER_SCRIPT = `
const net = require("node:net");
const echo = net.createServer((s) => s.pipe(s)).listen(0, "127.0.0.1", () => console.log(echo.address().port));
process.stdin.once("data", (line) => setTimeout(() => {
  const t0 = performance.now();
  const socket = net.connect(Number(String(line).trim()), "127.0.0.1", () => socket.write("ping"));
  socket.once("data", () => { console.log(Math.round(performance.now() - t0)); socket.destroy(); echo.close(); process.stdin.destroy(); });
}, 100));
`;

/** The lines of `stream`, one per call of `next()`. */
function lines(stream: NodeJS.ReadableStream): { next(): Promise<string> } {
  const iterator = createInterface({ input: stream })[Symbol.asyncIterator]();
  return { next: async () => String((await iterator.next()).value) };
}

const runIdOf = () => `test-toxiproxy-process-${randomBytes(3).toString("hex")}`;

/** An echo server on a free port; closed when the test ends. */
async function echoServer(): Promise<number> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  onTestFinished(() => void server.close());
  return (server.address() as AddressInfo).port;
}

/** Sends `text` through 127.0.0.1:`port` and resolves with what comes back. */
async function roundTrip(port: number, text: string): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(text);
  let got = "";
  for await (const chunk of socket) {
    got += String(chunk);
    if (got.length >= text.length) break;
  }
  socket.destroy();
  return got;
}

describe("ToxiproxyProcess (the local runtime's proxy server, in a process of its own)", () => {
  it("should proxy through its own tagged process, report its loop's stalls, and be gone after stop()", { timeout: 30_000 }, async () => {
    const runId = runIdOf();
    const stalls: { from: number; durationMs: number }[] = [];
    const server = await ToxiproxyProcess.start({ runId, host: "127.0.0.1", onStall: (from, durationMs) => stalls.push({ from, durationMs }) });
    onTestFinished(() => server.stop().catch(() => undefined));
    expect(server.pid).not.toBe(process.pid);
    expect(listTaggedProcesses({ runId }).map((p) => p.pid)).toEqual([server.pid]);

    const echo = await echoServer();
    const listen = await findFreePort("127.0.0.1");
    await new ToxiproxyFaults(server.url).createProxy({ name: `${runId}-echo`, listen: `127.0.0.1:${listen}`, upstream: `127.0.0.1:${echo}` });
    expect(await roundTrip(listen, "through the proxy process")).toBe("through the proxy process");

    // While this process's event loop stands still, the proxy still carries another process's round trip.
    const peer = spawn(process.execPath, ["-e", PEER_SCRIPT], { stdio: ["pipe", "pipe", "inherit"] });
    onTestFinished(() => void peer.kill("SIGKILL"));
    const peerLines = lines(peer.stdout!);
    const peerEcho = Number(await peerLines.next());
    const peerListen = await findFreePort("127.0.0.1");
    await new ToxiproxyFaults(server.url).createProxy({ name: `${runId}-peer`, listen: `127.0.0.1:${peerListen}`, upstream: `127.0.0.1:${peerEcho}` });
    peer.stdin!.write(`${peerListen}\n`);
    const blockedUntil = Date.now() + BLOCK_MS;
    while (Date.now() < blockedUntil) {
      // Busy on purpose: a stall of the harness process.
    }
    expect(Number(await peerLines.next())).toBeLessThan(PEER_ROUND_TRIP_BOUND_MS);

    // A stall of its own loop (the process stopped, as on a starved machine) is reported.
    process.kill(server.pid, "SIGSTOP");
    // The length of the stop, not a wait for something: the child's loop stands still this long, well over the
    // shortest stall it reports.
    await new Promise((resolve) => setTimeout(resolve, STALL_REPORT_MS + 250));
    process.kill(server.pid, "SIGCONT");
    await expect.poll(() => stalls.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(stalls[0]!.durationMs).toBeGreaterThanOrEqual(STALL_REPORT_MS);

    await server.stop();
    expect(isProcessAlive(server.pid)).toBe(false);
    expect(listTaggedProcesses({ runId })).toEqual([]);
    await expect(roundTrip(listen, "gone")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("should say at stop() that it exited during the run, with HARNESS_ERR_PROCESS_EXITED", { timeout: 30_000 }, async () => {
    const server = await ToxiproxyProcess.start({ runId: runIdOf(), host: "127.0.0.1" });
    process.kill(server.pid, "SIGKILL");
    await expect.poll(() => isProcessAlive(server.pid)).toBe(false);
    await expect(server.stop()).rejects.toMatchObject({ code: "HARNESS_ERR_PROCESS_EXITED", message: expect.stringMatching(/exited during the run.*signal SIGKILL/) });
  });

  it("should refuse a host it cannot listen on with HARNESS_ERR_TOXIPROXY_LISTEN and leave no process", { timeout: 30_000 }, async () => {
    const runId = runIdOf();
    await expect(ToxiproxyProcess.start({ runId, host: "203.0.113.1" })).rejects.toMatchObject({ code: "HARNESS_ERR_TOXIPROXY_LISTEN" });
    expect(listTaggedProcesses({ runId })).toEqual([]);
  });

  it("should exit by itself when the process that started it is SIGKILLed", { timeout: 60_000 }, async () => {
    const runId = runIdOf();
    const script = [
      `import { ToxiproxyProcess } from ${JSON.stringify(join(REPO_ROOT, "harness/runtime/toxiproxy-process.ts"))};`,
      `const server = await ToxiproxyProcess.start({ runId: ${JSON.stringify(runId)}, host: "127.0.0.1" });`,
      `process.stdout.write(String(server.pid) + "\\n");`,
      `setInterval(() => {}, 1_000);`,
    ].join("\n");
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    onTestFinished(() => void parent.kill("SIGKILL"));
    const [line] = (await once(parent.stdout!, "data")) as [Buffer];
    const pid = Number(line.toString().trim());
    expect(listTaggedProcesses({ runId }).map((p) => p.pid)).toEqual([pid]);
    parent.kill("SIGKILL");
    // Its IPC channel closes with its parent: it stops its proxies and exits, with no sweep needed.
    await expect.poll(() => isProcessAlive(pid), { timeout: 10_000 }).toBe(false);
  });
});

/** The one profile of {@link holdScenario}, for `ci` and `release` alike. */
const HOLD_PROFILE = {
  instances: 2,
  clients: 4,
  durationS: 1,
  messageRatePerSecond: 20,
  connectionTtlMs: 3_000,
  heartbeatIntervalMs: 300,
  drainTimeoutMs: 1_000,
  thresholds: { reconnectBoundMs: 3_000, settleBoundMs: 1_500, minDeliveryRatio: 0.95 },
};

/** A short run whose steady hold outlasts the moment the test kills the proxy server. */
const holdScenario = defineScenario({
  name: "proxy-crash",
  description: "a hold during which the proxy server dies (test fixture)",
  checks: ["no-ghosts", "delivery"],
  profiles: { ci: HOLD_PROFILE, release: HOLD_PROFILE },
  steps: (p) => [Step.connectFleet({ timeoutMs: 10_000 }), Step.messages(p.messageRatePerSecond), Step.hold(p.durationS * 1_000), Step.settle({ timeoutMs: 3_000 })],
});

/** Like {@link holdScenario}, then a partition: a step that needs the proxy server after it died. */
const partitionScenario = defineScenario({
  name: "proxy-crash-partition",
  description: "a partition planned after the proxy server died (test fixture)",
  checks: ["no-ghosts"],
  profiles: { ci: HOLD_PROFILE, release: HOLD_PROFILE },
  steps: () => [Step.connectFleet({ timeoutMs: 10_000 }), Step.fault(Fault.partition({ target: "gw-1", durationMs: 500 })), Step.settle({ timeoutMs: 3_000 })],
});

describe("a local run whose proxy server dies", () => {
  it.each([
    ["a hold", holdScenario, undefined],
    // The partition's proxy API call fails first (HARNESS_ERR_TOXIPROXY, "fetch failed"): the cause is named, the step's error kept after it.
    ["a step that needs it", partitionScenario, /; the run had stopped on: toxiproxy enable proxy .* failed/],
  ])("should end with status error and HARNESS_ERR_PROCESS_EXITED, not with a verdict on the system under test (%s)", { timeout: 60_000 }, async (_what, scenario, stepError) => {
    const out = await mkdtemp(join(tmpdir(), "traffic-cop-proxy-crash-"));
    onTestFinished(() => rm(out, { recursive: true, force: true }));
    let runId = "";
    let killed: number | undefined;
    // Once the fleet is connected (the first step), its gateways reaching Redis through the proxy server.
    const killer: Reporter = {
      name: "proxy-killer",
      onRunStart: (info) => void (runId = info.runId),
      onStepEnd: (step) => {
        if (step.index !== 0) return;
        killed = listTaggedProcesses({ runId }).find((p) => p.command.includes("toxiproxy-server"))?.pid;
        if (killed !== undefined) process.kill(killed, "SIGKILL");
      },
    };
    const { result } = await runScenario({ scenario, seed: 7, outDir: out, reporters: [killer] });
    expect(killed).toBeDefined();
    expect(result, JSON.stringify(result.error)).toMatchObject({ status: "error", exit_code: 2, error: { code: "HARNESS_ERR_PROCESS_EXITED" } });
    expect(result.error?.message).toMatch(/toxiproxy server \(pid \d+\).*exited during the run.*signal SIGKILL/);
    if (stepError) expect(result.error?.message).toMatch(stepError);
    await expectNoLeftovers(result);
  });
});

describe("a local topology that cannot start Redis", () => {
  it("should stop the proxy server that started beside it, say what to install and leave no directory", { timeout: 30_000 }, async () => {
    const runId = runIdOf();
    const dirsBefore = new Set(listTempDirs(process.pid).map((d) => d.dir));
    const path = process.env.PATH;
    const empty = await mkdtemp(join(tmpdir(), "traffic-cop-no-redis-"));
    onTestFinished(() => rm(empty, { recursive: true, force: true }));
    // No redis-server on PATH while this topology starts (the proxy server's node is process.execPath).
    process.env.PATH = empty;
    let started: Awaited<ReturnType<LocalRuntime["start"]>> | undefined;
    let failed: unknown;
    try {
      started = await new LocalRuntime({ runId, instances: 1 }).start();
    } catch (error) {
      failed = error;
    } finally {
      process.env.PATH = path;
    }
    onTestFinished(() => started?.stop());
    expect(failed).toMatchObject({ code: "HARNESS_ERR_REDIS_SERVER_MISSING", message: expect.stringMatching(/redis-server not found on PATH/) });
    await expect.poll(() => listTaggedProcesses({ runId }), { timeout: 5_000 }).toEqual([]);
    // Redis's data directory, made before the spawn that failed.
    expect(listTempDirs(process.pid).filter((d) => !dirsBefore.has(d.dir))).toEqual([]);
  });
});
