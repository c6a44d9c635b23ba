/**
 * `npm run bench -- fleet [--rounds 5] [--sockets 16000] [--hold 24000] [--no-artillery] [--workers N] [--sources N] [--in-flight N] [--servers N]`
 * `npm run bench -- fleet --gateways 4 --hold 24000`
 *
 * Default mode: the client fleet's connect rate and memory per held socket side by side with Artillery's WebSocket
 * engine and a plain `ws` client, each round against fresh bare `ws` server processes (all three against the same
 * kind and number of servers). Then the fleet alone holds `--hold` sockets over several workers and servers,
 * more than one process can hold (the open-files limit caps one process near 20,000).
 *
 * `--gateways N`: the fleet holds `--hold` sockets against N real gateway processes (REGISTRY=redis on a real
 * redis-server) and reports how many it held at once, per instance.
 *
 * Each client first opens and holds half of `--sockets` (warm-up), settles 2 s, then the measuring window opens for
 * the second half and closes 2 s after its last accept. Connect rate is measured on the server side over that half:
 * sockets / (last accept - first accept); the default of 16,000 sockets makes the window about a second or more, so
 * the first and last handshakes do not set the rate, and stays below the ~20,000 one Artillery process can hold.
 * Artillery is asked for each half within a quarter of a second, far above what one Artillery process reaches, so it
 * runs flat out; a round where it keeps to that schedule anyway is flagged (`artillery_schedule_bound`) and fails the floor.
 * Memory per held socket is what the client processes occupy while holding every socket, divided by the sockets held
 * (what a user pays): their own memory, plus the pages of the Node binary they all map counted once (summing
 * VmRSS counts them once per process, about 35-45 MB each, which charged a fleet of two workers for the binary twice);
 * the VmRSS sum and the growth over the measured half are reported beside it. Client CPU per connect
 * (user + system time of all client processes, from /proc/<pid>/stat) is that of the window. The fleet uses its
 * default number of workers (one per 8,000 clients); Artillery and the plain client run in one process each.
 * With Artillery, each round also runs the fleet in one worker process, process for process against Artillery's one,
 * at the most sockets one worker may hold (9,000, MAX_SOCKETS_PER_WORKER_LIMIT) and paired with an Artillery round of
 * the same sockets when `--sockets` is larger.
 * Artillery is installed outside the project (~/.cache/traffic-cop/artillery) when missing. Last line: one JSON object
 * with the medians over paired rounds `ratio_connect_vs_artillery` (floor 2.0), `ratio_connect_vs_artillery_per_process`
 * (floor 1.5) and `memory_ratio_vs_artillery` (fleet over Artillery per held socket, floor at most 0.7).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, homedir, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ClientFleet } from "../harness/fleet/client-fleet.js";
import { DEFAULT_CLIENT_FLEET_OPTIONS, MAX_SOCKETS_PER_WORKER_LIMIT } from "../harness/fleet/fleet-options.js";
import { RedisServer } from "../harness/runtime/redis-server.js";
import { procStatFields } from "../harness/runtime/sweep.js";
import { spawnableSut } from "../harness/runtime/gateway-bundle.js";
import { REFERENCE_SUT, resolveSutDefinition } from "../harness/runtime/sut.js";
import { HarnessError } from "../harness/errors.js";
import { spreadOf, type Spread } from "../harness/common/spread.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const ARTILLERY_VERSION = "2.0.34";
const ARTILLERY_DIR = join(homedir(), ".cache", "traffic-cop", "artillery");
const ARTILLERY_BIN = join(ARTILLERY_DIR, "node_modules", ".bin", "artillery");
/**
 * Bare servers per round (`--servers`), each holding its share of the sockets: one per core, so that the servers
 * take as little as they can of the cores the clients measured share with them. With four on this 2-core machine
 * each server slept between connects and every connect paid the wake-up of a server process: the servers spent
 * 0.17-0.47 ms of CPU per connect (0.27-0.47 in the 9,000-socket rounds), against 0.14-0.24 with two. Every client
 * got faster with two, so the ratios hardly moved (one run each, 2026-12-06: fleet 5,991 -> 6,759 connects/s,
 * Artillery 3,452 -> 4,025, the plain `ws` client 3,831 -> 4,561; ratio 1.70 -> 1.71, process for process 1.48 ->
 * 1.58). Every client of a round meets the same servers.
 */
const DEFAULT_SERVERS = availableParallelism();
/** Connects in flight for the plain ws client: the fleet's default per worker, so both queue alike. */
const WS_CONCURRENCY = DEFAULT_CLIENT_FLEET_OPTIONS.maxConnectsInFlight;
/**
 * Artillery's phases ask for each half of the sockets within about this many seconds, far above the rate one
 * Artillery process reaches, so it runs flat out (a longer phase would cap it at its own schedule: half / duration per
 * second). One second was enough until Artillery reached 4,500 connects/s on this machine, the most a 9,000-socket
 * round asked of it in a second, so its per-process rounds kept to their schedule. Asking sooner does not slow it:
 * once behind, its timer (nanotimer) makes one arrival per turn of the event loop whatever the schedule.
 */
const ARTILLERY_PHASE_S = 0.25;
/** Artillery measured at this share of its requested rate or more was held back by its schedule, not by its work. */
const ARTILLERY_SCHEDULE_BOUND = 0.9;
/** Wait after the last accept before reading memory, so allocations of the ramp settle. */
const SETTLE_MS = 2_000;
const ROUND_TIMEOUT_MS = 120_000;
const AUTH_SECRET = "bench-secret";
/** Floors of issue 14 (medians of paired rounds): connect rate against Artillery, all workers and one. */
const FLOOR_RATIO_CONNECT = 2.0;
const FLOOR_RATIO_CONNECT_PER_PROCESS = 1.5;
/** Floor of issue 14: memory per held socket at most this share of Artillery's. */
const FLOOR_MEMORY_RATIO = 0.7;
/** USER_HZ of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_S = 100;
/** Artillery's pause between its two halves: long enough to settle and read its footprint. */
const ARTILLERY_PAUSE_S = 8;

const SERVER_CODE = `
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: false, backlog: 4096 });
let open = 0, total = 0, first = 0, last = 0;
wss.on("connection", (ws) => {
  open++; total++;
  const now = performance.timeOrigin + performance.now();
  if (!first) first = now;
  last = now;
  ws.send(JSON.stringify({ type: "welcome", websocket_id: "w" + process.pid + "-" + total, instance_id: "bare-" + process.pid, session_id: "", resumed: false }));
  ws.on("error", () => {});
  ws.on("close", () => open--);
});
wss.on("listening", () => process.send({ type: "listening", port: wss.address().port }));
process.on("message", (m) => {
  if (m === "count") process.send({ type: "count", open, total, first, last });
  if (m === "mark") { first = 0; last = 0; process.send({ type: "marked" }); }
});
process.on("disconnect", () => process.exit(0));
`;

const WS_CLIENT_CODE = `
const WebSocket = require("ws");
const held = [];
process.on("message", (m) => {
  if (m.type !== "go") return;
  let started = 0, inflight = 0;
  const pump = () => {
    while (started < m.count && inflight < m.concurrency) {
      const i = started++;
      inflight++;
      const ws = new WebSocket(m.targets[i % m.targets.length] + "/ws", { perMessageDeflate: false });
      held.push(ws);
      let settled = false;
      const done = () => { if (settled) return; settled = true; inflight--; pump(); };
      ws.on("open", done);
      ws.on("error", () => {});
      ws.on("close", done);
    }
  };
  pump();
});
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
`;

interface ServerCount {
  open: number;
  total: number;
  first: number;
  last: number;
}

class BareServer {
  readonly port: number;
  readonly child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    this.#exited = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
  }

  static async start(): Promise<BareServer> {
    const child = spawn(process.execPath, ["-e", SERVER_CODE], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit", "ipc"] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once("message", (m: { port: number }) => resolve(m.port));
      child.once("exit", (code) => reject(new Error(`bare ws server exited with ${code}`)));
    });
    return new BareServer(child, port);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  count(): Promise<ServerCount> {
    return new Promise((resolve) => {
      const onMessage = (m: ServerCount & { type: string }) => {
        if (m.type !== "count") return;
        this.child.off("message", onMessage);
        resolve(m);
      };
      this.child.on("message", onMessage);
      this.child.send("count");
    });
  }

  /** Restarts the first/last accept timestamps (a new measuring window). */
  mark(): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== "marked") return;
        this.child.off("message", onMessage);
        resolve();
      };
      this.child.on("message", onMessage);
      this.child.send("mark");
    });
  }

  async stop(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.#exited;
  }
}

/** Resident memory of one process, bytes, from /proc/<pid>/status. */
interface ProcessMemory {
  /** VmRSS: all of it. */
  rss: number;
  /** RssFile: pages of mapped files (the Node binary above all), one copy in the page cache whoever maps them. */
  file: number;
}

/**
 * `pids` and every descendant of theirs (from /proc/<pid>/task/<tid>/children): the client processes whose memory,
 * CPU and threads are counted. A process that ends meanwhile is left out.
 */
async function processTrees(pids: readonly number[]): Promise<number[]> {
  const found: number[] = [];
  const visit = async (pid: number): Promise<void> => {
    let tasks: string[];
    try {
      tasks = await readdir(`/proc/${pid}/task`);
    } catch {
      return;
    }
    found.push(pid);
    for (const task of tasks) {
      const children = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").then((text) => text.trim(), () => "");
      for (const child of children ? children.split(" ") : []) await visit(Number(child));
    }
  };
  for (const pid of pids) await visit(pid);
  return found;
}

/** Resident memory of a process (undefined once it is gone). */
async function memoryOf(pid: number): Promise<ProcessMemory | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  if (status === undefined) return undefined;
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1_024;
  return { rss: kb("VmRSS"), file: kb("RssFile") };
}

/** CPU time (user + system) of the processes and their descendants, ms. */
async function sumCpuMs(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of await processTrees(pids)) {
    const fields = procStatFields(pid);
    if (fields !== undefined) total += ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS_PER_S;
  }
  return total;
}

/** Threads of the processes and their descendants (JS threads, V8's helper threads, libuv's pool). */
async function sumThreads(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of await processTrees(pids)) total += await readdir(`/proc/${pid}/task`).then((tasks) => tasks.length, () => 0);
  return total;
}

/** What the client processes occupy together, bytes. */
export interface Footprint {
  /**
   * Their own memory (VmRSS less RssFile), plus the file-backed pages of the one that has the most. Every client process
   * runs the same Node binary, whose pages (about 35-45 MB resident in each) sit once in the page cache however many
   * processes map them: summing VmRSS would count them once per process, so a client spread over N processes would
   * pay for the binary N times. Counting them once is what the machine holds (at least: a page one process touched
   * and the fullest did not is left out, and those processes run the same code).
   */
  bytes: number;
  /** Plain sum of VmRSS (shared file pages counted once per process), reported beside it. */
  rssSum: number;
}

export async function footprint(pids: readonly number[]): Promise<Footprint> {
  const processes: ProcessMemory[] = [];
  for (const pid of await processTrees(pids)) {
    const memory = await memoryOf(pid);
    if (memory !== undefined) processes.push(memory);
  }
  let own = 0;
  let file = 0;
  let rssSum = 0;
  for (const p of processes) {
    own += p.rss - p.file;
    file = Math.max(file, p.file);
    rssSum += p.rss;
  }
  return { bytes: own + file, rssSum };
}

async function totals(servers: BareServer[]): Promise<ServerCount> {
  const counts = await Promise.all(servers.map((server) => server.count()));
  return {
    open: counts.reduce((sum, c) => sum + c.open, 0),
    total: counts.reduce((sum, c) => sum + c.total, 0),
    first: Math.min(...counts.map((c) => c.first || Number.POSITIVE_INFINITY)),
    last: Math.max(...counts.map((c) => c.last)),
  };
}

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs}ms (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One client kind's result in one round. */
interface RoundResult {
  connectsPerSecond: number;
  bytesPerSocket: number;
  /** Client CPU (user + system, all client processes) per connect, ms. */
  cpuMsPerConnect: number;
  /**
   * What the client processes occupy while holding every socket ({@link Footprint}: their own memory, the shared
   * binary's pages once), divided by sockets (what a user pays).
   */
  footprintBytesPerSocket: number;
  /** The plain sum of the client processes' VmRSS while holding every socket, divided by sockets. */
  rssSumBytesPerSocket: number;
  held: number;
  /**
   * Cores the client processes kept busy over the window (CPU per connect times connects per second). On cores
   * shared with other work the scheduler shares time out per thread, so this shows how much of the machine each
   * client got, beside how much it needed per connect.
   */
  cpuCores: number;
  /** Threads of the client processes while holding every socket. */
  threads: number;
  /** CPU of the bare servers (user + system) per connect over the same window, ms: what every client's rate shares. */
  serverCpuMsPerConnect: number;
  /**
   * Share of the machine's cores busy from the measured half's first accept until every socket was held (/proc/stat:
   * everything but idle and iowait, all processes and the kernel's own work such as the loopback TCP handshakes).
   * Near 1, the round was bound by the machine.
   */
  machineBusy: number;
  /** Artillery only: it reached its requested arrival rate, so its schedule (not its work) set the rate. */
  scheduleBound?: boolean;
}

/** Busy and total jiffies of all cores so far (/proc/stat's `cpu` line; idle and iowait count as not busy). */
async function machineJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "latin1")).split("\n", 1)[0]!;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** CPU ms of the bare servers, read now (their user + system time so far). */
const serverCpuMs = (servers: BareServer[]) => sumCpuMs(servers.map((server) => server.child.pid!));

/**
 * Starts a sample of the machine's busy share; the returned function ends it. Started once the servers have seen
 * the first accept of the measured half (one 20 ms poll late at most), so that a client which begins its half by
 * itself later (Artillery, after its pause phase) is not charged for the idle wait.
 */
async function machineBusySample(): Promise<() => Promise<number>> {
  const before = await machineJiffies();
  return async () => {
    const after = await machineJiffies();
    const total = after.total - before.total;
    return total > 0 ? Math.round(((after.busy - before.busy) / total) * 100) / 100 : 0;
  };
}

/** `measured` connects took place between the servers' first and last accept; memory and CPU grew by the deltas. */
function result(
  count: ServerCount,
  measured: number,
  rssDelta: number,
  cpuMs: number,
  held: Footprint,
  threads: number,
  window: { serverMs: number; machineBusy: number },
): RoundResult {
  const spanS = Math.max(0.001, (count.last - count.first) / 1_000);
  const connectsPerSecond = Math.round((measured - 1) / spanS);
  const cpuMsPerConnect = Math.round((cpuMs / measured) * 1_000) / 1_000;
  return {
    serverCpuMsPerConnect: Math.round((window.serverMs / measured) * 1_000) / 1_000,
    machineBusy: window.machineBusy,
    connectsPerSecond,
    bytesPerSocket: Math.round(rssDelta / measured),
    cpuMsPerConnect,
    cpuCores: Math.round((cpuMsPerConnect * connectsPerSecond) / 10) / 100,
    threads,
    footprintBytesPerSocket: Math.round(held.bytes / Math.max(1, count.open)),
    rssSumBytesPerSocket: Math.round(held.rssSum / Math.max(1, count.open)),
    held: count.open,
  };
}

/**
 * The measuring window shared by the three clients: the first half of the sockets warms the client up and is held
 * (settled) before the window opens; connect rate, client CPU and resident-set growth are those of the second half.
 */
async function secondHalf(
  servers: BareServer[],
  sockets: number,
  pids: () => readonly number[],
  startSecondHalf: () => void,
  what: string,
): Promise<RoundResult> {
  const half = Math.floor(sockets / 2);
  await waitFor(() => totals(servers), (c) => c.open >= half, ROUND_TIMEOUT_MS, `${what} holding ${half}`);
  await pause(SETTLE_MS);
  const before = await footprint(pids());
  const cpuBefore = await sumCpuMs(pids());
  const serverBefore = await serverCpuMs(servers);
  await Promise.all(servers.map((server) => server.mark()));
  const midway = await totals(servers);
  if (midway.total > half + servers.length * 4) throw new Error(`${what}: the second half began before the window opened (${midway.total} > ${half})`);
  startSecondHalf();
  await waitFor(() => totals(servers), (c) => c.total > midway.total, ROUND_TIMEOUT_MS, `${what} starting its second half`);
  const machineBusy = await machineBusySample();
  const count = await waitFor(() => totals(servers), (c) => c.open >= sockets, ROUND_TIMEOUT_MS, `${what} holding ${sockets}`);
  const cpu = (await sumCpuMs(pids())) - cpuBefore;
  const window = { serverMs: (await serverCpuMs(servers)) - serverBefore, machineBusy: await machineBusy() };
  await pause(SETTLE_MS);
  const held = await footprint(pids());
  const threads = await sumThreads(pids());
  return result(count, count.total - midway.total, held.bytes - before.bytes, cpu, held, threads, window);
}

async function withServers<T>(n: number, body: (servers: BareServer[]) => Promise<T>): Promise<T> {
  const servers = await Promise.all(Array.from({ length: n }, () => BareServer.start()));
  try {
    return await body(servers);
  } finally {
    await Promise.allSettled(servers.map((server) => server.stop()));
  }
}

/** `--in-flight`: the fleet's maxConnectsInFlight per worker (its default when absent). */
let inFlight: number | undefined;

async function runFleet(sockets: number, servers: BareServer[], sources: string[], workers?: number): Promise<RoundResult> {
  const fleet = await new ClientFleet({
    targets: servers.map((server) => server.url),
    clients: sockets,
    rampLimit: Math.floor(sockets / 2),
    authSecret: AUTH_SECRET,
    seed: 1,
    ...(inFlight !== undefined ? { maxConnectsInFlight: inFlight } : {}),
    ...(sources.length > 0 ? { sourceAddresses: sources } : {}),
    ...(workers !== undefined ? { workers } : {}),
  }).start();
  try {
    const round = await secondHalf(servers, sockets, () => fleet.workerPids, () => fleet.setRampLimit(sockets), "fleet");
    await fleet.waitForConnected(sockets, ROUND_TIMEOUT_MS);
    return round;
  } finally {
    await fleet.stop();
  }
}

/** The fleet alone holding `sockets` (more than one process can): growth from loaded and idle to holding all. */
async function runFleetHold(sockets: number, servers: BareServer[], sources: string[], workers: number): Promise<RoundResult> {
  const fleet = await new ClientFleet({
    targets: servers.map((server) => server.url),
    clients: sockets,
    authSecret: AUTH_SECRET,
    seed: 2,
    workers,
    ...(sources.length > 0 ? { sourceAddresses: sources } : {}),
  }).start();
  try {
    // Read right after the start command: the workers are loaded and have not opened a socket yet.
    const before = await footprint(fleet.workerPids);
    const cpuBefore = await sumCpuMs(fleet.workerPids);
    const serverBefore = await serverCpuMs(servers);
    const machineBusy = await machineBusySample();
    const count = await waitFor(() => totals(servers), (c) => c.open >= sockets, ROUND_TIMEOUT_MS, `fleet holding ${sockets}`);
    const cpu = (await sumCpuMs(fleet.workerPids)) - cpuBefore;
    const window = { serverMs: (await serverCpuMs(servers)) - serverBefore, machineBusy: await machineBusy() };
    await fleet.waitForConnected(sockets, ROUND_TIMEOUT_MS);
    await pause(SETTLE_MS);
    const held = await footprint(fleet.workerPids);
    const threads = await sumThreads(fleet.workerPids);
    return result(count, sockets, held.bytes - before.bytes, cpu, held, threads, window);
  } finally {
    await fleet.stop();
  }
}

async function runWs(sockets: number, servers: BareServer[]): Promise<RoundResult> {
  const child = spawn(process.execPath, ["-e", WS_CLIENT_CODE], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`ws client exited with ${code}`)));
    });
    const targets = servers.map((server) => server.url);
    const half = Math.floor(sockets / 2);
    child.send({ type: "go", targets, count: half, concurrency: WS_CONCURRENCY });
    return await secondHalf(servers, sockets, () => [child.pid!], () => child.send({ type: "go", targets, count: sockets - half, concurrency: WS_CONCURRENCY }), "ws client");
  } finally {
    // Servers go first (their side keeps TIME_WAIT), then the client.
    await Promise.allSettled(servers.map((server) => server.stop()));
    child.kill("SIGKILL");
  }
}

async function ensureArtillery(): Promise<void> {
  if (existsSync(ARTILLERY_BIN)) return;
  process.stdout.write(`installing artillery@${ARTILLERY_VERSION} into ${ARTILLERY_DIR} (outside the project's dependencies)\n`);
  await mkdir(ARTILLERY_DIR, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const npm = spawn("npm", ["install", "--prefix", ARTILLERY_DIR, "--no-audit", "--no-fund", `artillery@${ARTILLERY_VERSION}`], {
      stdio: ["ignore", "ignore", "inherit"],
      // Artillery's Playwright engine would download a browser at install; the WebSocket engine needs none.
      env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
    });
    npm.once("exit", (code) => (code === 0 && existsSync(ARTILLERY_BIN) ? resolve() : reject(new Error(`npm install artillery@${ARTILLERY_VERSION} failed (${code})`))));
  });
}

/**
 * The duration in ms of an Artillery phase of `count` arrivals, about {@link ARTILLERY_PHASE_S}, at which Artillery
 * makes exactly `count` arrivals. It spaces arrivals by whole microseconds, floor(duration / count), and stops after
 * floor(duration / spacing) of them, so most durations overshoot (250 ms for 8,000 made 8,064 arrivals). The
 * arithmetic below is Artillery 2.0's (core/phases.js, then arrivals' UniformProcess) on the ms it reads from "<ms>ms".
 */
export function artilleryPhaseMs(count: number): number {
  for (let spacingUs = Math.max(1, Math.floor((ARTILLERY_PHASE_S * 1e6) / count)); ; spacingUs++) {
    const ms = (spacingUs * count) / 1_000;
    const durationMs = (ms / 1_000) * 1_000;
    const tickUs = Math.floor((durationMs / count) * 1_000);
    if (Math.floor((durationMs * 1_000) / tickUs) === count) return ms;
  }
}

/** Connects per second that Artillery is asked for in the second half of a round of `sockets`. */
function artilleryRequestedRate(sockets: number): number {
  const second = sockets - Math.floor(sockets / 2);
  return Math.round(second / (artilleryPhaseMs(second) / 1_000));
}

/**
 * Starts `artillery run`: `sockets / 2` connections, a pause of {@link ARTILLERY_PAUSE_S}, then `sockets / 2` more,
 * spread over `servers`, each held until the process is killed.
 */
async function spawnArtillery(sockets: number, servers: BareServer[], dir: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  const half = Math.floor(sockets / 2);
  // One scenario per server, equal weights: Artillery spreads its virtual users over the same servers.
  const scenarios = servers
    .map((server) => `  - engine: ws\n    weight: 1\n    flow:\n      - connect: "${server.url}/ws"\n      - think: 600\n`)
    .join("");
  const phase = (count: number) => `    - duration: "${artilleryPhaseMs(count)}ms"\n      arrivalCount: ${count}\n`;
  const phases = `${phase(half)}    - pause: ${ARTILLERY_PAUSE_S}\n${phase(sockets - half)}`;
  const config = `config:\n  target: "${servers[0]!.url}/ws"\n  phases:\n${phases}scenarios:\n${scenarios}`;
  const file = join(dir, `ws-${sockets}.yml`);
  await writeFile(file, config);
  const child = spawn(ARTILLERY_BIN, ["run", file], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: "true", DO_NOT_TRACK: "1" },
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  return { child, stderr: () => stderr };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Artillery cannot be paused from outside, and its idle footprint differs by ~10-20 MB between processes, so it is
 * measured within one process: the first half of the sockets warms it up and is held through a pause; rate, CPU and
 * memory are those of the second half (its steady state, the most favourable window for it).
 */
async function runArtillery(sockets: number, servers: BareServer[]): Promise<RoundResult> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-bench-artillery-"));
  const { child, stderr } = await spawnArtillery(sockets, servers, dir);
  try {
    // Artillery's second half starts by itself after its pause phase.
    const round = await secondHalf(servers, sockets, () => [child.pid!], () => undefined, "artillery").catch((error: Error) => {
      throw new Error(`${error.message}; artillery stderr: ${stderr()}`);
    });
    return { ...round, scheduleBound: round.connectsPerSecond >= ARTILLERY_SCHEDULE_BOUND * artilleryRequestedRate(sockets) };
  } finally {
    await Promise.allSettled(servers.map((server) => server.stop()));
    killGroup(child);
    await rm(dir, { recursive: true, force: true });
  }
}

const stats = (values: number[]): Spread => spreadOf(values, 0);

const kb = (bytes: number) => Math.round((bytes / 1_024) * 10) / 10;

function describe(what: string, r: RoundResult): string {
  const rate = `${r.connectsPerSecond} connects/s${r.scheduleBound ? " (Artillery's own schedule: raise --sockets)" : ""}`;
  return `${what}: ${rate}, held ${r.held}, ${kb(r.footprintBytesPerSocket)} KB per held socket (VmRSS sum ${kb(r.rssSumBytesPerSocket)} KB, growth ${kb(r.bytesPerSocket)} KB), ${r.cpuMsPerConnect} ms CPU/connect, ${r.cpuCores} cores busy, ${r.threads} threads; servers ${r.serverCpuMsPerConnect} ms CPU/connect, machine ${Math.round(r.machineBusy * 100)} % busy\n`;
}

const USAGE =
  "usage: npm run bench -- fleet [--rounds N] [--sockets N] [--hold N] [--no-artillery] [--workers N] [--sources N] [--in-flight N] [--servers N]\n" +
  "       npm run bench -- fleet --gateways N [--hold N]";
/** The flags of each mode: numbers, except `--no-artillery`, which takes none. */
const DEFAULT_MODE_FLAGS = ["rounds", "sockets", "hold", "no-artillery", "workers", "sources", "in-flight", "servers"];
const GATEWAYS_MODE_FLAGS = ["gateways", "hold"];

function usageError(message: string): HarnessError {
  return new HarnessError("HARNESS_ERR_USAGE", `${message}\n${USAGE}`);
}

/**
 * `--name value`, `--name=value` and the bare `--no-artillery`, each at most once and known to the mode it is
 * used in: a misspelt flag would otherwise run minutes of rounds with the defaults.
 */
export function parseArgs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw usageError(`unexpected argument ${arg}`);
    const [key, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (key in out) throw usageError(`--${key} given twice`);
    if (key === "no-artillery") {
      if (inline !== undefined) throw usageError("--no-artillery takes no value");
      out[key] = "true";
    } else if (inline !== undefined) out[key] = inline;
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--")) out[key] = args[++i]!;
    // A flag of neither mode is unknown, with or without a value after it.
    else throw usageError(DEFAULT_MODE_FLAGS.includes(key) || GATEWAYS_MODE_FLAGS.includes(key) ? `--${key} needs a value` : `unknown flag --${key}`);
  }
  const known = out.gateways === undefined ? DEFAULT_MODE_FLAGS : GATEWAYS_MODE_FLAGS;
  const unknown = Object.keys(out).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw usageError(`unknown flag${unknown.length > 1 ? "s" : ""} ${unknown.map((key) => `--${key}`).join(", ")}${out.gateways === undefined ? "" : " with --gateways"}`);
  }
  return out;
}

function int(args: Record<string, string>, key: string, fallback: number): number {
  const value = args[key] === undefined ? fallback : Number(args[key]);
  if (!Number.isSafeInteger(value) || value <= 0) throw usageError(`--${key} must be a positive integer; got ${args[key]}`);
  return value;
}

/** Addresses 127.0.<block>.1 .. n: a fresh block per round keeps earlier rounds' TIME_WAIT ports out of the way. */
function sourceBlock(block: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${block}.${i + 1}`);
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.gateways !== undefined) {
    await runGatewayHold(int(args, "gateways", 4), int(args, "hold", 24_000));
    return;
  }
  const rounds = int(args, "rounds", 5);
  const sockets = int(args, "sockets", 16_000);
  const hold = int(args, "hold", 24_000);
  const artillery = args["no-artillery"] === undefined;
  const fleetWorkers = args.workers === undefined ? undefined : int(args, "workers", 1);
  inFlight = args["in-flight"] === undefined ? undefined : int(args, "in-flight", 256);
  const fleetSources = args.sources === undefined ? 0 : int(args, "sources", 1);
  const serverCount = int(args, "servers", DEFAULT_SERVERS);
  if (artillery) await ensureArtillery();
  const fleetRounds: RoundResult[] = [];
  const fleetOneRounds: RoundResult[] = [];
  const wsRounds: RoundResult[] = [];
  const artilleryRounds: RoundResult[] = [];
  const artilleryOneRounds: RoundResult[] = [];
  // Process for process: one fleet worker holds at most MAX_SOCKETS_PER_WORKER_LIMIT clients (a move of every client
  // holds two sockets each under the 20,000 open-files limit), fewer than the default round's sockets. That round is
  // paired with an Artillery round of the same sockets, so both measure the same window (the same half, the same
  // servers' share of it) and neither is charged for sockets the other never opened.
  const perProcessSockets = Math.min(sockets, MAX_SOCKETS_PER_WORKER_LIMIT);
  const separateArtilleryOne = artillery && perProcessSockets !== sockets;
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so that no kind always runs first (or right after Artillery's teardown).
    // "fleet1" is the fleet in one worker process and "artillery1" Artillery's one process at the same sockets.
    const kinds = ["fleet", "ws", ...(artillery ? ["artillery", "fleet1"] : []), ...(separateArtilleryOne ? ["artillery1"] : [])];
    const order = [...kinds.slice(round % kinds.length), ...kinds.slice(0, round % kinds.length)];
    for (const kind of order) {
      if (kind === "fleet") {
        const f = await withServers(serverCount, (servers) => runFleet(sockets, servers, sourceBlock(10 + round, fleetSources), fleetWorkers));
        fleetRounds.push(f);
        process.stdout.write(describe(`round ${round + 1} fleet`, f));
      } else if (kind === "fleet1") {
        const f = await withServers(serverCount, (servers) => runFleet(perProcessSockets, servers, sourceBlock(40 + round, fleetSources), 1));
        fleetOneRounds.push(f);
        process.stdout.write(describe(`round ${round + 1} fleet (1 worker, ${perProcessSockets} sockets)`, f));
      } else if (kind === "artillery1") {
        const a = await withServers(serverCount, (servers) => runArtillery(perProcessSockets, servers));
        artilleryOneRounds.push(a);
        process.stdout.write(describe(`round ${round + 1} artillery (${perProcessSockets} sockets)`, a));
      } else if (kind === "ws") {
        const w = await withServers(serverCount, (servers) => runWs(sockets, servers));
        wsRounds.push(w);
        process.stdout.write(describe(`round ${round + 1} ws`, w));
      } else {
        const a = await withServers(serverCount, (servers) => runArtillery(sockets, servers));
        artilleryRounds.push(a);
        process.stdout.write(describe(`round ${round + 1} artillery`, a));
      }
    }
  }
  // Hold more sockets than one process can: 4 workers, 4 servers, 4 source addresses.
  const holdWorkers = Math.max(2, Math.ceil(hold / 6_000));
  const held = await withServers(holdWorkers, (servers) => runFleetHold(hold, servers, sourceBlock(20, holdWorkers), holdWorkers));
  process.stdout.write(describe(`fleet hold over ${holdWorkers} workers`, held));

  const ratios = artillery ? fleetRounds.map((f, i) => f.connectsPerSecond / artilleryRounds[i]!.connectsPerSecond) : [];
  const ratiosWs = fleetRounds.map((f, i) => f.connectsPerSecond / wsRounds[i]!.connectsPerSecond);
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const range = (values: number[], scale: (x: number) => number) => {
    const { min, median, max } = stats(values);
    return { min: scale(min), median: scale(median), max: scale(max) };
  };
  // Memory per held socket: what the client processes occupy while holding every socket, per socket (what a user
  // pays): their own memory and the shared Node binary's pages once (see Footprint; the VmRSS sum is beside it). Growth over the measured half is kept as a second view; it is
  // unreliable for Artillery, whose collector frees warm-up garbage during the window (it even comes out negative).
  const memory = {
    fleet: range(fleetRounds.map((r) => r.footprintBytesPerSocket), kb),
    ws: range(wsRounds.map((r) => r.footprintBytesPerSocket), kb),
    artillery: artillery ? range(artilleryRounds.map((r) => r.footprintBytesPerSocket), kb) : null,
  };
  const ratio = artillery ? range(ratios, round2) : null;
  const artilleryOne = separateArtilleryOne ? artilleryOneRounds : artilleryRounds;
  const ratioPerProcess = artillery ? range(fleetOneRounds.map((f, i) => f.connectsPerSecond / artilleryOne[i]!.connectsPerSecond), round2) : null;
  // Paired per round like the connect ratios, so that a round's machine load hits both sides alike.
  const memoryRatio = artillery ? range(fleetRounds.map((f, i) => f.footprintBytesPerSocket / artilleryRounds[i]!.footprintBytesPerSocket), round2) : null;
  const memoryRatioRssSum = artillery ? range(fleetRounds.map((f, i) => f.rssSumBytesPerSocket / artilleryRounds[i]!.rssSumBytesPerSocket), round2) : null;
  const artilleryScheduleBound = artilleryRounds.some((r) => r.scheduleBound);
  const artilleryOneScheduleBound = artilleryOne.some((r) => r.scheduleBound);
  // One figure's min/median/max for each kind of round (the per-process ones only with Artillery).
  const everyRound = (pick: (r: RoundResult) => number) => ({
    fleet: stats(fleetRounds.map(pick)),
    ws: stats(wsRounds.map(pick)),
    artillery: artillery ? stats(artilleryRounds.map(pick)) : null,
    fleet_one_worker: artillery ? stats(fleetOneRounds.map(pick)) : null,
    artillery_per_process: artillery ? stats(artilleryOne.map(pick)) : null,
  });
  const summary = {
    benchmark: "fleet",
    rounds,
    sockets_per_round: sockets,
    servers_per_round: serverCount,
    load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
    connects_per_s: {
      fleet: stats(fleetRounds.map((r) => r.connectsPerSecond)),
      ws: stats(wsRounds.map((r) => r.connectsPerSecond)),
      artillery: artillery ? stats(artilleryRounds.map((r) => r.connectsPerSecond)) : null,
    },
    artillery_requested_connects_per_s: artillery ? artilleryRequestedRate(sockets) : null,
    artillery_schedule_bound: artillery ? artilleryScheduleBound : null,
    memory_per_held_socket_kb: memory,
    memory_per_held_socket_kb_vmrss_sum: {
      fleet: range(fleetRounds.map((r) => r.rssSumBytesPerSocket), kb),
      ws: range(wsRounds.map((r) => r.rssSumBytesPerSocket), kb),
      artillery: artillery ? range(artilleryRounds.map((r) => r.rssSumBytesPerSocket), kb) : null,
    },
    memory_growth_per_socket_kb: {
      fleet: range(fleetRounds.map((r) => r.bytesPerSocket), kb),
      ws: range(wsRounds.map((r) => r.bytesPerSocket), kb),
      artillery: artillery ? range(artilleryRounds.map((r) => r.bytesPerSocket), kb) : null,
    },
    cpu_ms_per_connect: {
      fleet: stats(fleetRounds.map((r) => r.cpuMsPerConnect)),
      ws: stats(wsRounds.map((r) => r.cpuMsPerConnect)),
      artillery: artillery ? stats(artilleryRounds.map((r) => r.cpuMsPerConnect)) : null,
    },
    // Cores each client kept busy during its window: under load from other work, a client with more runnable
    // threads gets more of the cores (Artillery runs a main thread, a worker thread and V8's helper threads).
    client_cpu_cores: everyRound((r) => r.cpuCores),
    // What the servers spent per connect and how busy the whole machine was in each client's window: a client whose
    // window kept the machine busy was bound by the machine (servers, kernel and client together), not by itself.
    server_cpu_ms_per_connect: everyRound((r) => r.serverCpuMsPerConnect),
    machine_busy: everyRound((r) => r.machineBusy),
    client_threads: {
      fleet: Math.max(...fleetRounds.map((r) => r.threads)),
      ws: Math.max(...wsRounds.map((r) => r.threads)),
      artillery: artillery ? Math.max(...artilleryRounds.map((r) => r.threads)) : null,
      fleet_one_worker: artillery ? Math.max(...fleetOneRounds.map((r) => r.threads)) : null,
    },
    ratio_cpu_per_connect_artillery_vs_fleet: artillery
      ? range(fleetRounds.map((f, i) => artilleryRounds[i]!.cpuMsPerConnect / Math.max(0.001, f.cpuMsPerConnect)), round2).median
      : null,
    ratio_cpu_per_connect_artillery_vs_fleet_per_process: artillery
      ? range(fleetOneRounds.map((f, i) => artilleryOne[i]!.cpuMsPerConnect / Math.max(0.001, f.cpuMsPerConnect)), round2).median
      : null,
    ratio_connect_vs_artillery: ratio?.median ?? null,
    ratio_connect_vs_artillery_range: ratio,
    ratio_connect_vs_artillery_per_process: ratioPerProcess?.median ?? null,
    ratio_connect_vs_artillery_per_process_range: ratioPerProcess,
    memory_ratio_vs_artillery: memoryRatio?.median ?? null,
    memory_ratio_vs_artillery_range: memoryRatio,
    memory_ratio_vs_artillery_vmrss_sum: memoryRatioRssSum?.median ?? null,
    sockets_per_round_per_process: artillery ? perProcessSockets : null,
    connects_per_s_fleet_one_worker: artillery ? stats(fleetOneRounds.map((r) => r.connectsPerSecond)) : null,
    connects_per_s_artillery_per_process: artillery ? stats(artilleryOne.map((r) => r.connectsPerSecond)) : null,
    artillery_schedule_bound_per_process: artillery ? artilleryOneScheduleBound : null,
    ratio_connect_vs_ws: range(ratiosWs, round2).median,
    ratio_connect_vs_ws_range: range(ratiosWs, round2),
    memory_per_held_socket_kb_fleet: memory.fleet.median,
    memory_per_held_socket_kb_ws: memory.ws.median,
    memory_per_held_socket_kb_artillery: memory.artillery?.median ?? null,
    sockets_held_fleet: held.held,
    sockets_held_fleet_workers: holdWorkers,
    memory_per_held_socket_kb_fleet_hold: kb(held.footprintBytesPerSocket),
    memory_growth_per_socket_kb_fleet_hold: kb(held.bytesPerSocket),
    connects_per_s_fleet_hold: held.connectsPerSecond,
    sockets_held_artillery_one_process: artillery ? Math.max(...artilleryRounds.map((r) => r.held)) : null,
    sockets_held_ws_one_process: Math.max(...wsRounds.map((r) => r.held)),
    floors: artillery
      ? {
          // A rate Artillery's own schedule capped proves nothing: the floor then counts as missed.
          connect_rate_at_least_2x_artillery: !artilleryScheduleBound && (ratio?.median ?? 0) >= FLOOR_RATIO_CONNECT,
          connect_rate_per_process_at_least_1_5x_artillery: !artilleryOneScheduleBound && (ratioPerProcess?.median ?? 0) >= FLOOR_RATIO_CONNECT_PER_PROCESS,
          memory_per_held_socket_at_most_0_7x_artillery: (memoryRatio?.median ?? Number.POSITIVE_INFINITY) <= FLOOR_MEMORY_RATIO,
          // One process is capped near 20,000 sockets by the open-files limit.
          holds_more_than_one_process_can: held.held > 20_000,
        }
      : null,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (summary.floors !== null && Object.values(summary.floors).includes(false)) process.exitCode = 1;
}

/** The fleet holds `sockets` against `n` real gateway processes on one real redis-server. */
async function runGatewayHold(n: number, sockets: number): Promise<void> {
  const redis = await new RedisServer({ runId: "bench-fleet" }).start();
  const gateways: { child: ChildProcess; port: number; exited: Promise<void> }[] = [];
  const started = performance.now();
  try {
    // As the local runtime and the container image run the reference gateway: its esbuild bundle.
    const { args } = await spawnableSut(resolveSutDefinition(REFERENCE_SUT));
    const launches = Array.from({ length: n }, (_, i) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, PORT: "0", HOST: "127.0.0.1", REDIS_URL: redis.url, INSTANCE_ID: `gw-${i + 1}`, AUTH_SECRET, REGISTRY: "redis" },
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      return new Promise<void>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        lines.on("line", (line) => {
          try {
            const event = JSON.parse(line) as { event?: string; port?: number };
            if (event.event === "listening" && event.port) {
              gateways.push({ child, port: event.port, exited });
              resolve();
            }
          } catch {
            // Not a JSON line.
          }
        });
        child.once("exit", (code) => reject(new Error(`gateway gw-${i + 1} exited with ${code} before listening`)));
      });
    });
    await Promise.all(launches);
    const topologyMs = Math.round(performance.now() - started);
    process.stdout.write(`topology: redis-server + ${n} gateways listening in ${topologyMs} ms\n`);
    const workers = Math.max(2, Math.ceil(sockets / 6_000));
    const fleet = await new ClientFleet({
      targets: gateways.map((gateway) => `ws://127.0.0.1:${gateway.port}`),
      clients: sockets,
      workers,
      authSecret: AUTH_SECRET,
      seed: 1,
      sourceAddresses: sourceBlock(30, 4),
      rampPerSecond: 2_000,
      tenants: 8,
      clientsPerSession: 8,
    }).start();
    const t0 = performance.now();
    let peak = 0;
    let error: unknown;
    try {
      await fleet.waitForConnected(sockets, 240_000);
    } catch (caught) {
      error = caught;
    }
    const snapshot = fleet.snapshot();
    peak = snapshot.connected;
    const rampMs = Math.round(performance.now() - t0);
    const summary = await fleet.stop();
    process.stdout.write(`held ${peak} of ${sockets} at once (${JSON.stringify(snapshot.byInstance)}) after ${rampMs} ms; connect p50 ${summary.latency.connect.p50} ms p99 ${summary.latency.connect.p99} ms\n`);
    if (error) process.stdout.write(`limit: ${(error as Error).message}\n`);
    process.stdout.write(
      `${JSON.stringify({
        benchmark: "fleet-gateway-hold",
        gateways: n,
        workers,
        target: sockets,
        sockets_held: peak,
        by_instance: snapshot.byInstance,
        ramp_ms: rampMs,
        topology_start_ms: topologyMs,
        connect_errors: summary.connectErrors,
        connect_latency_ms: summary.latency.connect,
      })}\n`,
    );
  } finally {
    for (const gateway of gateways) gateway.child.kill("SIGKILL");
    await Promise.all(gateways.map((gateway) => gateway.exited));
    await redis.stop();
  }
}
