import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { bundleEntry } from "../../harness/runtime/gateway-bundle.js";
import { findNetworkLeftovers, sweepNetworkLeftovers } from "../../harness/runtime/network-sweep.js";
import {
  hostTableName,
  networkNamespacesUnavailable,
  RunNetwork,
  type InstanceLink,
  type PacketImpairment,
  type TcpCounters,
} from "../../harness/runtime/network-namespaces.js";
import { isProcessAlive, listTaggedProcesses } from "../../harness/runtime/sweep.js";
import { listTempDirs } from "../../harness/runtime/temp-dirs.js";

const ECHO_PORT = 9_000;
/**
 * Lines per measurement, sent in bursts of 100 every 50 ms (about 20 KB, 14 segments): a second of a busy connection.
 * Bursts, because a held packet waits only behind those held before it (network-namespaces.ts): two held in one burst
 * are reordered whatever the machine's load does to the timers.
 */
const LINES = 2_000;
const LINES_PER_TICK = 100;
const TICK_MS = 50;
/** Percent of the packets hit: far above any real link so that a second's traffic moves every counter. */
const PERCENT = 10;
/**
 * What a loaded machine alone moves the counters by in one exchange: a starved receiver acks late, and TCP's tail loss
 * probe retransmits (then D-SACKs) without any loss (seen: 1 retransmission and 1 D-SACK at load average 30). Each
 * fault moves its own counters by 16 to 194 (measured), so "more than this" still tells a fault from none.
 */
const LOAD_NOISE = 5;
/** Sends LINES numbered lines to the echo server and reads them back; resolves with what came back, in order. */
async function exchange(address: string): Promise<number[]> {
  const socket = connect(ECHO_PORT, address);
  const got: number[] = [];
  const done = new Promise<void>((resolve, reject) => {
    createInterface({ input: socket }).on("line", (line) => {
      got.push(Number(line.split(" ")[0]));
      if (got.length === LINES) resolve();
    });
    socket.once("error", reject);
  });
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  let sent = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < LINES_PER_TICK && sent < LINES; i++) socket.write(`${sent++} ${"x".repeat(200)}\n`);
    if (sent === LINES) clearInterval(timer);
  }, TICK_MS);
  await done;
  socket.destroy();
  return got;
}

/** What one exchange moved in the namespace's counters, and whether the application saw every line once in order. */
async function measure(network: RunNetwork, link: InstanceLink): Promise<TcpCounters & { inOrder: boolean }> {
  const before = await network.tcpCounters(link.instanceId);
  const got = await exchange(link.namespaceAddress);
  const after = await network.tcpCounters(link.instanceId);
  const delta = Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - before[name as keyof TcpCounters]])) as unknown as TcpCounters;
  return { ...delta, inOrder: got.length === LINES && got.every((n, i) => n === i) };
}

async function startEcho(link: InstanceLink): Promise<void> {
  const script = `require("node:net").createServer((s) => s.pipe(s)).listen(${ECHO_PORT}, ${JSON.stringify(link.namespaceAddress)}, () => console.log("listening"))`;
  const server = spawn("ip", ["netns", "exec", link.namespace, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  onTestFinished(() => void server.kill("SIGKILL"));
  await new Promise<void>((resolve) => createInterface({ input: server.stdout! }).once("line", () => resolve()));
}

/** Packets queued on the slow class (1:20) of both ends. */
function slowPathBacklog(link: InstanceLink): number {
  const texts = [execFileSync("tc", ["-s", "class", "show", "dev", link.hostDevice, "classid", "1:20"], { encoding: "utf8" }), execFileSync("ip", ["netns", "exec", link.namespace, "tc", "-s", "class", "show", "dev", link.namespaceDevice, "classid", "1:20"], { encoding: "utf8" })];
  return texts.reduce((total, text) => total + Number(/backlog \d+b (\d+)p/.exec(text)?.[1] ?? Number.NaN), 0);
}

function linkExists(device: string): boolean {
  try {
    execFileSync("ip", ["link", "show", device], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Packet faults on a real veth pair between this host and a namespace of the run's own, each direction seen in the
 * namespace's own TCP counters (the host's are shared with everything else on the machine): an unimpaired exchange
 * moves none of them (so the assertions below can fail), each fault moves its own, the application still reads every
 * line once and in order (TCP hides the fault), and nothing moves once it is healed.
 */
describe.skipIf(networkNamespacesUnavailable() !== undefined)("RunNetwork: packet faults in network namespaces", { timeout: 60_000 }, () => {
  it("should lose, duplicate and reorder packets both ways, and stop once healed", async () => {
    await using network = new RunNetwork(`test-netns-${randomBytes(3).toString("hex")}`);
    const link = await network.create("gw-1");
    await startEcho(link);
    const quiet = (c: TcpCounters & { inOrder: boolean }) => {
      expect(c).toMatchObject({ heldBack: 0, inOrder: true });
      for (const name of ["retransmitted", "outOfOrder", "dsackSent", "dsackReceived", "reordersSeen"] as const) expect(c[name], name).toBeLessThanOrEqual(LOAD_NOISE);
    };
    quiet(await measure(network, link));

    const cases: { impairment: PacketImpairment; expect: (c: TcpCounters) => void }[] = [
      // Host end drops the namespace's packets: it retransmits. Namespace end drops the host's: later ones queue out of order.
      { impairment: { form: "loss", percent: PERCENT }, expect: (c) => (expect(c.retransmitted).toBeGreaterThan(LOAD_NOISE), expect(c.outOfOrder).toBeGreaterThan(LOAD_NOISE)) },
      // Host end's copies arrive as old data (the namespace answers with a D-SACK); the namespace end's are reported back.
      { impairment: { form: "duplicate", percent: PERCENT }, expect: (c) => (expect(c.dsackSent).toBeGreaterThan(LOAD_NOISE), expect(c.dsackReceived).toBeGreaterThan(LOAD_NOISE)) },
      // Host end's slow path: data arrives out of order. Namespace end's: the host's SACKs show it reordered.
      { impairment: { form: "reorder", percent: PERCENT }, expect: (c) => (expect(c.heldBack).toBeGreaterThan(LOAD_NOISE), expect(c.outOfOrder).toBeGreaterThan(LOAD_NOISE), expect(c.reordersSeen).toBeGreaterThan(LOAD_NOISE)) },
    ];
    for (const { impairment, expect: check } of cases) {
      await network.impair("gw-1", impairment);
      const seen = await measure(network, link);
      await network.heal("gw-1");
      expect(seen.inOrder, impairment.form).toBe(true);
      check(seen);
      console.log(`${impairment.form} ${impairment.percent}%: ${JSON.stringify(seen)}`);
    }
    // Packets already on the slow path when the reordering was healed still arrive late: wait until both have left.
    await expect.poll(() => slowPathBacklog(link), { timeout: 5_000 }).toBe(0);
    quiet(await measure(network, link));
    await expect(network.impair("gw-2", { form: "loss", percent: 1 })).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
    await network.stop();
    expect(findNetworkLeftovers(network.runId)).toEqual({ namespaces: [], tables: [] });
    await expect.poll(() => linkExists(link.hostDevice)).toBe(false);
  });

  it("should silence the connections the namespace opened to the host end, let later ones through, and heal", async () => {
    await using network = new RunNetwork(`test-netns-${randomBytes(3).toString("hex")}`);
    const link = await network.create("gw-1");
    // An accepted connection from the host end (as the fleet's are) must stay out of the silence.
    await startEcho(link);
    const accepted = connect(ECHO_PORT, link.namespaceAddress);
    onTestFinished(() => void accepted.destroy());
    await new Promise<void>((resolve) => accepted.once("connect", resolve));
    // A server on the host end (as the Redis proxies are) and a client inside that opens a connection per stdin line.
    const server = createServer();
    const sockets: Socket[] = [];
    server.on("connection", (socket) => sockets.push(socket.on("error", () => undefined)));
    await new Promise<void>((resolve) => server.listen(0, link.hostAddress, resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const port = (server.address() as AddressInfo).port;
    const script = `const net = require("node:net"); const lines = (input, f) => require("node:readline").createInterface({ input }).on("line", f);
      lines(process.stdin, (name) => { const s = net.connect(${port}, ${JSON.stringify(link.hostAddress)}); lines(s, (l) => console.log(name + " " + l)); });`;
    const client = spawn("ip", ["netns", "exec", link.namespace, process.execPath, "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    onTestFinished(() => void client.kill("SIGKILL"));
    const heard: string[] = [];
    createInterface({ input: client.stdout! }).on("line", (line) => heard.push(line));
    client.stdin!.write("a\n");
    await expect.poll(() => sockets.length).toBe(1);
    sockets[0]!.write("before\n");
    await expect.poll(() => heard).toEqual(["a before"]);

    const ports = await network.silence("gw-1");
    expect(ports).toEqual([sockets[0]!.remotePort]);
    sockets[0]!.write("held\n");
    client.stdin!.write("b\n");
    await expect.poll(() => sockets.length).toBe(2);
    sockets[1]!.write("new\n");
    await expect.poll(() => heard).toEqual(["a before", "b new"]);
    // Still held: "a held" came in no later than "b new" would have, and TCP retransmits it only once healed.
    expect(heard).not.toContain("a held");
    accepted.write("echo\n");
    await expect.poll(() => accepted.read()?.toString()).toBe("echo\n");
    await expect(network.silence("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });

    await network.heal("gw-1");
    await expect.poll(() => heard, { timeout: 10_000 }).toContain("a held");
    await network.stop();
    expect(findNetworkLeftovers(network.runId)).toEqual({ namespaces: [], tables: [] });
  });

  // nobody must be able to load the checkout (tsx and its ES modules); a clone in a directory only root may enter
  // (a `mktemp -d` clone) cannot be, whatever capabilities it keeps: the test then says so by being skipped.
  it("should refuse namespaces to a process that is not root, with HARNESS_ERR_NETNS_UNAVAILABLE saying what is needed", async () => {
    // Bundled into one file in a directory anyone may read: nobody cannot load modules from a checkout that lies in
    // a directory only root may enter (a `mktemp -d` clone), and should not need to.
    const dir = mkdtempSync(join(tmpdir(), "traffic-cop-netns-nobody-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const entry = join(dir, "start-with-namespaces.mjs");
    await bundleEntry(
      {
        source: `import { LocalRuntime } from "./harness/runtime/local-runtime.ts";
new LocalRuntime({ runId: "netns-nobody", instances: 1, networkNamespaces: true }).start().then(() => console.log("started"), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`,
      },
      entry,
    );
    chmodSync(dir, 0o755);
    chmodSync(entry, 0o644);
    // setpriv (util-linux) drops to nobody, with no capability left.
    const out = execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, entry], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({ code: "HARNESS_ERR_NETNS_UNAVAILABLE", message: expect.stringContaining("run the harness as root") });
  });

  it("should leave nothing of a run killed with SIGKILL after the next run's sweep, and nothing of a live run", async () => {
    await using live = new RunNetwork(`test-netns-live-${randomBytes(3).toString("hex")}`);
    const liveLink = await live.create("gw-1");
    await live.impair("gw-1", { form: "loss", percent: 1 });
    const runId = `test-netns-killed-${randomBytes(3).toString("hex")}`;
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/netns-run.ts", runId], { stdio: ["ignore", "pipe", "inherit"] });
    onTestFinished(() => void child.kill("SIGKILL"));
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
    const held = JSON.parse(line) as { pid: number; namespace: string; sleeper: number };
    expect(findNetworkLeftovers(runId)).toEqual({ namespaces: [held.namespace], tables: [expect.stringContaining("trafficcop_")] });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // What the next run does at its start (after the process sweep, left out here: it is global, and other test files
    // sweep orphans they expect to find): the network sweep kills what is left inside a dead run's namespace (the
    // sleeper, and the orphaned gateway unless it already exited by itself: it does at its first write to its dead
    // harness's pipe, EPIPE, which a signal trace showed 21 ms after the kill in one run), then removes the
    // namespace and the host table.
    expect(isProcessAlive(held.sleeper)).toBe(true);
    const swept = sweepNetworkLeftovers();
    expect(swept.namespaces).toContain(held.namespace);
    expect(findNetworkLeftovers(runId)).toEqual({ namespaces: [], tables: [] });
    // (A SIGKILLed process may linger as a zombie until its new parent reaps it: isProcessAlive and the tag list leave
    // those out.)
    await expect.poll(() => isProcessAlive(held.sleeper)).toBe(false);
    await expect.poll(() => listTaggedProcesses({ runId }).some((p) => p.pid === held.pid)).toBe(false);
    // The killed run's redis-server is the process sweep's (a killed run's orphan outside any namespace): this run's only.
    for (const orphan of listTaggedProcesses({ runId })) process.kill(orphan.pid, "SIGKILL");
    await expect.poll(() => listTaggedProcesses({ runId })).toEqual([]);
    // And so is its data directory, named after the killed run's process: removed here the same way.
    for (const { dir } of listTempDirs(child.pid!)) rmSync(dir, { recursive: true, force: true });
    expect(findNetworkLeftovers(live.runId).namespaces).toEqual([liveLink.namespace]);
    expect(findNetworkLeftovers(live.runId).tables).toHaveLength(1);
  });

  it("should sweep a dead run's host table left beside no namespace at a process's first look", async () => {
    // A host table outlives its namespace only when something else removed the namespace (by hand, or a harness from
    // before tables went strictly first): the sweep lists the host's tables whatever the namespaces at a process's
    // first call, and later only while a namespace exists (network-sweep.ts).
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    const table = hostTableName(`test-netns-bare-${randomBytes(3).toString("hex")}`, "gw-1", dead.pid!);
    execFileSync("nft", ["add", "table", "ip", table]);
    onTestFinished(() => {
      try {
        execFileSync("nft", ["delete", "table", "ip", table], { stdio: "ignore" });
      } catch {
        // Swept, as it should be.
      }
    });
    const dir = mkdtempSync(join(tmpdir(), "traffic-cop-netns-sweep-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const entry = join(dir, "sweep.mjs");
    await bundleEntry({ source: `import { sweepNetworkLeftovers } from "./harness/runtime/network-sweep.ts";\nconsole.log(JSON.stringify(sweepNetworkLeftovers()));` }, entry);
    const swept = JSON.parse(execFileSync(process.execPath, [entry], { encoding: "utf8", timeout: 30_000 }).trim()) as { tables: string[] };
    expect(swept.tables).toContain(table);
    expect(() => execFileSync("nft", ["list", "table", "ip", table], { stdio: "ignore" })).toThrow();
  });
});
