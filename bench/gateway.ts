/**
 * `npm run bench -- gateway [--rounds N] [--connections N] [--idle N] [--rate N] [--seconds S]`
 *
 * Measures, in one run and with the same client code:
 * - new connections/s through one gateway process (JWT check + registry write before the welcome) against a bare
 *   `ws` server process that answers each connection with one frame (the baseline), over several interleaved rounds;
 * - route latency (send → delivery, one clock) at a fixed moderate rate, same-instance next to cross-instance;
 * - server RSS per idle connection, gateway and bare server.
 * The last line is one JSON object; `ratio_connect` is the median over rounds of gateway/bare connections/s, each
 * round measuring both back to back (floor 0.85), and `memory_ratio_vs_bare` the gateway's RSS per idle connection
 * over the bare server's (floor at most 1.2).
 *
 * Fairness of the connect figure: both servers get the same client (this process), the same request (path, query
 * and token: the bare server ignores them), the same {@link CONNECT_CONCURRENCY}, the same number of connections
 * per round and the same {@link WARMUP_ROUNDS}; each is one Node process with `ws`, per-message deflate off and no
 * client tracking. The gateway runs as the local runtime and its container image run it, from its esbuild bundle
 * (on tsx only where esbuild cannot build one). The machine's cores are shared by the client, the server and, for
 * the gateway, its Redis: Redis's CPU is counted against the gateway (it takes its share from the same cores the
 * client and the gateway would otherwise use, where a deployment gives Redis a host of its own), so
 * `ratio_connect` is the conservative figure. The CPU each process spent per connect is printed next to it (`server_cpu_us_per_connect`: gateway and
 * Redis apart, and the bare server; `client_cpu_us_per_connect` shows the client doing the same work for both),
 * and `cpu_ratio_vs_bare` is the bare server's CPU per connect over the gateway's plus its Redis's;
 * `machine_cpu_ratio_vs_bare` adds each run's client to both sides: where both kinds of round keep the shared cores
 * equally busy, the connect ratio comes out near it, and a gateway raises its connect ratio by spending less CPU.
 * `redis_calls_per_connect` says what Redis ran per connect (`INFO commandstats` around each measured round):
 * `scripts`, the group commits (their inverse is how many connects one gathered), `commands`, what they and any
 * other client called, and `by_command`: where Redis's share of a connect goes. `server_cpu_us_per_close` is each
 * server's CPU (and the gateway's Redis's) per close of a round's sockets, from the client's close frames until
 * the server has settled (the gateway's records all removed, the bare server's descriptors all closed); outside
 * the connect figures. The gateway's includes the reads of its /metrics that tell it has settled.
 *
 * `BENCH_GATEWAY_CPU_PROF=<dir>` runs the connect rounds' gateway under `node --cpu-prof`, writing its profile to
 * `<dir>` when the gateway stops (open it in Chrome DevTools or any `.cpuprofile` viewer). On the loaded 2-core
 * machine it overstates the frame of the gateway's writes to Redis about threefold: Redis, woken by a write, takes
 * the gateway's core at once, and V8's sample is taken as the gateway resumes in that frame (docs/performance.md,
 * the twentieth machine); `perf record -e cpu-clock -t <pid>` counts only time on a core.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { numericFlags } from "./numeric-flags.js";
import { OWNER_PID_ENV, RUN_ID_ENV } from "../harness/runtime/process-tags.js";
import { RedisServer } from "../harness/runtime/redis-server.js";
import { procStatFields } from "../harness/runtime/sweep.js";
import { spawnableSut } from "../harness/runtime/gateway-bundle.js";
import { REFERENCE_SUT, resolveSutDefinition } from "../harness/runtime/sut.js";
import { signJwt } from "../src/gateway/jwt.js";
import { createRedisClient, type RedisClient } from "../src/registry/redis-client.js";
import { spreadOf, type Spread } from "../harness/common/spread.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECRET = "bench-secret";
const CONNECT_CONCURRENCY = 50;
/** Attempts per connection when the gateway answers 503 (see openMany). */
const MAX_CONNECT_ATTEMPTS = 5;
const START_TIMEOUT_MS = 20_000;
/**
 * Rounds run for each server before the measured ones. The CPU per connect of both servers falls for the first
 * 3,000 or so connections while V8 compiles their hot paths (the gateway's, with more code, a round later than the
 * bare server's: 490/500/380 then about 220 µs against 420/320/210 then about 150 µs in one run), and compiling
 * takes CPU from the same two cores; three rounds of the default 1,000 connections reach the steady state.
 */
const WARMUP_ROUNDS = 3;
/** Floors of issue 14: connects at least this share of a bare ws server's (median of paired rounds). */
const FLOOR_RATIO_CONNECT = 0.85;
/** Floor of issue 14: RSS per idle connection at most this multiple of a bare ws server's. */
const FLOOR_MEMORY_RATIO = 1.2;

const BARE_SERVER = `
import { WebSocketServer } from "ws";
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: false, maxPayload: 65536 });
wss.on("connection", (ws) => {
  ws.on("message", (data) => ws.send(data));
  ws.send(JSON.stringify({ type: "welcome" }));
});
wss.on("listening", () => process.stdout.write(JSON.stringify({ event: "listening", port: wss.address().port }) + "\\n"));
process.on("SIGTERM", () => process.exit(0));
`;

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  /** The Redis a gateway writes to, whose CPU time counts as this server's. */
  redisPid?: number;
  /** Calls of each command that Redis has run so far (`INFO commandstats`), scripts' own commands included. */
  redisCalls?: () => Promise<Record<string, number>>;
}

/** Commands that run a script: their calls are the group commits, the rest mostly what the scripts call. */
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

/** Calls per command from `INFO commandstats` (`cmdstat_<name>:calls=N,...`; `config|resetstat` style names kept). */
async function commandCalls(client: RedisClient): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of (await client.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** User + system CPU time of a process so far, in microseconds (from /proc; clock ticks of 10 ms). */
async function cpuMicros(pid: number): Promise<number> {
  const fields = procStatFields(pid);
  if (fields === undefined) throw new Error(`process ${pid} is gone: no CPU time to read`);
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function parseArgs(args: string[]): Record<string, number> {
  return numericFlags(args, { rounds: 9, connections: 1_000, idle: 2_000, rate: 200, seconds: 5 });
}

/** The process tags bench/main.ts set for this benchmark's children (a server started with a bare environment). */
function inheritedTags(): Record<string, string> {
  return Object.fromEntries([RUN_ID_ENV, OWNER_PID_ENV].flatMap((key) => (process.env[key] === undefined ? [] : [[key, process.env[key]!]])));
}

async function startProcess(name: string, args: string[], env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", ...inheritedTags(), ...env } });
  const lines = createInterface({ input: child.stdout! });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not print a listening line within ${START_TIMEOUT_MS}ms: ${stderr}`)), START_TIMEOUT_MS);
    lines.on("line", (line) => {
      if (!line.includes('"event":"listening"')) return;
      clearTimeout(timer);
      resolve(Number((JSON.parse(line) as { port: number }).port));
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}: ${stderr}`)));
  });
  return { name, child, port };
}

/** Starts the reference gateway as the local runtime and its container image run it: the esbuild bundle. */
async function startGateway(redisUrl: string, instanceId: string, nodeFlags: readonly string[] = []): Promise<Server> {
  const { args } = await spawnableSut(resolveSutDefinition(REFERENCE_SUT));
  return awaitReady(await startProcess(instanceId, [...nodeFlags, ...args], {
    PORT: "0",
    REDIS_URL: redisUrl,
    INSTANCE_ID: instanceId,
    AUTH_SECRET: SECRET,
  }));
}

/** Polls a gateway's /readyz until it answers 200 (Redis connected, accepting), so no round meets its start-up 503s. */
async function awaitReady(server: Server): Promise<Server> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${server.port}/readyz`).then((res) => res.status, () => 0);
    if (status === 200) return server;
    if (Date.now() > deadline) throw new Error(`${server.name} not ready within ${START_TIMEOUT_MS}ms (GET /readyz -> ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopProcess(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGINT");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Opens one socket and resolves once its first frame (welcome) arrived. */
function open(port: number, query: string, onMessage?: (text: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?${query}`, { perMessageDeflate: false });
    ws.once("message", () => {
      if (onMessage) ws.on("message", (data) => onMessage(data.toString()));
      resolve(ws);
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

/** Upgrades refused with 503 (registry unavailable: a Redis command timed out) and retried, over the whole run. */
let refusedUpgrades = 0;

async function openMany(port: number, count: number, query: (i: number) => string): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECT_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        // A saturated shared machine can starve Redis past the gateway's command timeout: the client retries like
        // a real one would, the retry counts in the round's time, and the refusals are reported.
        for (let attempt = 1; ; attempt++) {
          try {
            sockets.push(await open(port, query(i)));
            break;
          } catch (error) {
            if (!(error instanceof Error && error.message.endsWith(": 503")) || attempt >= MAX_CONNECT_ATTEMPTS) throw error;
            refusedUpgrades++;
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          }
        }
      }
    }),
  );
  return sockets;
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once("close", () => resolve());
          ws.close();
        }),
    ),
  );
}

function stats(values: number[]): Spread {
  const { min, median, max } = spreadOf(values);
  return { min: round(min), median: round(median), max: round(max) };
}

function percentile(sorted: number[], p: number): number {
  return round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN, 3);
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Sum of one metric over its label sets, from a gateway's /metrics. */
async function metric(server: Server, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

/** Open file descriptors of a process (its sockets among them). */
function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Waits until a server has finished the work of the sockets just closed, so that it does not spill into the next
 * measurement of either server and its CPU per close is whole: a gateway until every record is unregistered, the
 * bare server until it holds no more descriptors than `fdsBefore` (it closes a socket's descriptor last, after
 * ws's close handlers ran).
 */
async function settle(server: Server, fdsBefore: number): Promise<void> {
  const gateway = server.name.startsWith("gateway");
  const settled = gateway
    ? async () => {
        const [open, registered, unregistered] = await Promise.all([
          metric(server, "traffic_cop_connections"),
          metric(server, "traffic_cop_registrations_total"),
          metric(server, "traffic_cop_unregistrations_total"),
        ]);
        return open === 0 && unregistered >= registered;
      }
    : async () => openFds(server.child.pid!) <= fdsBefore;
  // The gateway is asked over HTTP (each ask costs it some CPU); the bare server's descriptors are read from /proc.
  const intervalMs = gateway ? 50 : 10;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await settled()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${server.name} did not settle within 30s after closing its sockets`);
}

/** CPU microseconds per connection of each round, by server name (filled by {@link measureConnect}). */
interface CpuPerConnect {
  server: number[];
  /** The gateway's Redis (empty for the bare server). */
  redis: number[];
  /** This process, the client. */
  client: number[];
  /** The server's per close of the round's sockets (the client closes each with a close frame), until settled. */
  closeServer: number[];
  /** The gateway's Redis per close (its records' removals). */
  closeRedis: number[];
}
const cpuPerConnection: Record<string, CpuPerConnect> = {};
/**
 * Redis commands per connection of each round, by command (`INFO commandstats` before and after the round's
 * connects; the two reads of INFO left out): where the Redis CPU of a connect goes, and how many connects a group
 * commit gathers (one script per group).
 */
const redisCallsPerConnection: Record<string, number>[] = [];

async function measureConnect(servers: Server[], rounds: number, connections: number): Promise<Record<string, number[]>> {
  const results: Record<string, number[]> = Object.fromEntries(servers.map((server) => [server.name, []]));
  let seq = 0;
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first, so that neither always runs in the other's wake.
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const tokenValue = signJwt({ tenant_id: "bench", exp: Math.floor(Date.now() / 1000) + 3_600 }, SECRET);
      const pids = [server.child.pid!, ...(server.redisPid === undefined ? [] : [server.redisPid])];
      const callsBefore = await server.redisCalls?.();
      const fdsBefore = openFds(server.child.pid!);
      const cpuBefore = await Promise.all(pids.map(cpuMicros));
      const clientBefore = process.cpuUsage();
      const started = performance.now();
      const sockets = await openMany(server.port, connections, (i) => `session_id=connect-${seq}-${i % 100}&agent_type=a&pillar=p&token=${tokenValue}`);
      const elapsedS = (performance.now() - started) / 1000;
      const client = process.cpuUsage(clientBefore);
      results[server.name]!.push(connections / elapsedS);
      const cpuAfter = await Promise.all(pids.map(cpuMicros));
      if (callsBefore !== undefined) {
        const callsAfter = await server.redisCalls!();
        redisCallsPerConnection.push(
          Object.fromEntries(
            Object.entries(callsAfter)
              .filter(([command]) => command !== "info")
              .map(([command, calls]) => [command, (calls - (callsBefore[command] ?? 0)) / connections] as const)
              .filter(([, perConnect]) => perConnect > 0),
          ),
        );
      }
      const cpu = (cpuPerConnection[server.name] ??= { server: [], redis: [], client: [], closeServer: [], closeRedis: [] });
      cpu.server.push((cpuAfter[0]! - cpuBefore[0]!) / connections);
      if (pids.length > 1) cpu.redis.push((cpuAfter[1]! - cpuBefore[1]!) / connections);
      cpu.client.push((client.user + client.system) / connections);
      seq++;
      await closeAll(sockets);
      await settle(server, fdsBefore);
      const cpuClosed = await Promise.all(pids.map(cpuMicros));
      cpu.closeServer.push((cpuClosed[0]! - cpuAfter[0]!) / connections);
      if (pids.length > 1) cpu.closeRedis.push((cpuClosed[1]! - cpuAfter[1]!) / connections);
    }
  }
  return results;
}

async function measureRoutes(a: Server, b: Server, rate: number, seconds: number) {
  const tokenValue = signJwt({ tenant_id: "bench", exp: Math.floor(Date.now() / 1000) + 3_600 }, SECRET);
  const sentAt = new Map<string, number>();
  const latencies = { same: [] as number[], cross: [] as number[] };
  const receiver = (path: "same" | "cross") => (text: string) => {
    const frame = JSON.parse(text) as { type: string; id: string };
    if (frame.type !== "message") return;
    const started = sentAt.get(frame.id);
    if (started !== undefined) latencies[path].push(performance.now() - started);
  };
  // Several senders keep each socket well under the per-socket rate limit.
  const senderCount = Math.max(1, Math.ceil(rate / 50));
  const query = (role: string) => `session_id=route-bench&agent_type=${role}&pillar=p&token=${tokenValue}`;
  const senders = await Promise.all(Array.from({ length: senderCount }, () => open(a.port, query("sender"))));
  const same = await open(a.port, query("same"), receiver("same"));
  const cross = await open(b.port, query("cross"), receiver("cross"));
  const ids = await Promise.all(
    [a, b].map(async (server) => {
      const res = await fetch(`http://127.0.0.1:${server.port}/v1/sessions/route-bench/connections`, { headers: { authorization: `Bearer ${tokenValue}` } });
      return ((await res.json()) as { connections: Array<{ websocket_id: string; agent_type: string }> }).connections;
    }),
  );
  const byRole = new Map(ids[0]!.map((record) => [record.agent_type, record.websocket_id]));
  const sameId = byRole.get("same")!;
  const crossId = byRole.get("cross")!;
  const total = rate * seconds;
  const intervalMs = 1_000 / rate;
  const begin = performance.now();
  for (let i = 0; i < total; i++) {
    const due = begin + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const path = i % 2 === 0 ? "same" : "cross";
    const id = `${path}-${i}`;
    sentAt.set(id, performance.now());
    senders[i % senderCount]!.send(JSON.stringify({ type: "route", id, session_id: "route-bench", to: { websocket_id: path === "same" ? sameId : crossId }, payload: i }));
  }
  const deadline = performance.now() + 5_000;
  while (latencies.same.length + latencies.cross.length < total && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await closeAll([...senders, same, cross]);
  const summary = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return { p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), received: values.length };
  };
  return { rate_per_s: rate, seconds, sent_per_path: total / 2, same: summary(latencies.same), cross: summary(latencies.cross) };
}

/**
 * RSS growth per idle socket of a fresh server process: warm up with a few connections (lazy module and JIT
 * allocations), sample, open `idle` sockets, let allocation settle, sample again.
 */
async function measureIdleRss(server: Server, idle: number, tokenValue: string): Promise<number> {
  const query = (i: number) => `session_id=idle-${i % 200}&agent_type=a&pillar=p&token=${tokenValue}`;
  await closeAll(await openMany(server.port, 100, query));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await rssBytes(server.child.pid!);
  const sockets = await openMany(server.port, idle, query);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const after = await rssBytes(server.child.pid!);
  await closeAll(sockets);
  return (after - before) / idle;
}

/** Runs the benchmark; see the file comment. */
export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const redis = await new RedisServer({ runId: "bench-gateway" }).start();
  const servers: Server[] = [];
  // Reads INFO commandstats around the connect rounds.
  const statsClient = createRedisClient(redis.url);
  try {
    const profDir = process.env.BENCH_GATEWAY_CPU_PROF;
    const gatewayA = await startGateway(redis.url, "bench-gw-1", profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []);
    servers.push(gatewayA);
    const gatewayB = await startGateway(redis.url, "bench-gw-2");
    servers.push(gatewayB);
    const bare = await startProcess("bare-ws", ["--input-type=module", "-e", BARE_SERVER], {});
    servers.push(bare);
    const gateway: Server = { ...gatewayA, name: "gateway", redisPid: redis.pid, redisCalls: () => commandCalls(statsClient) };
    await measureConnect([gateway, bare], WARMUP_ROUNDS, options.connections!);
    for (const name of Object.keys(cpuPerConnection)) delete cpuPerConnection[name];
    redisCallsPerConnection.length = 0;
    const connect = await measureConnect([gateway, bare], options.rounds!, options.connections!);
    const gatewayStats = stats(connect.gateway!);
    const bareStats = stats(connect["bare-ws"]!);
    // Each round measures both servers back to back, so a round's ratio cancels the machine's load of that moment;
    // the median of these paired ratios is the figure, the ratio of medians is shown next to it.
    const pairedRatios = connect.gateway!.map((rate, i) => rate / connect["bare-ws"]![i]!);
    const ratioStats = stats(pairedRatios.map((ratio) => ratio * 1_000));
    const ratioConnect = round(ratioStats.median / 1_000, 3);
    const ratioOfMedians = round(gatewayStats.median / bareStats.median, 3);
    process.stdout.write(
      `connect/s over ${options.rounds} rounds of ${options.connections}: gateway ${JSON.stringify(gatewayStats)} bare ws ${JSON.stringify(bareStats)}\n` +
        `ratio per round min ${round(ratioStats.min / 1_000, 3)} median ${ratioConnect} max ${round(ratioStats.max / 1_000, 3)}; ratio of medians ${ratioOfMedians}\n`,
    );
    const cpuGw = cpuPerConnection.gateway!;
    const cpuBareWs = cpuPerConnection["bare-ws"]!;
    const cpuGatewayAndRedis = cpuGw.server.map((value, i) => value + cpuGw.redis[i]!);
    const cpu = {
      gateway_and_redis: stats(cpuGatewayAndRedis),
      gateway: stats(cpuGw.server),
      redis: stats(cpuGw.redis),
      bare_ws: stats(cpuBareWs.server),
    };
    const clientCpu = { gateway_runs: stats(cpuGw.client), bare_runs: stats(cpuBareWs.client) };
    const closeCpu = { gateway: stats(cpuGw.closeServer), redis: stats(cpuGw.closeRedis), bare_ws: stats(cpuBareWs.closeServer) };
    // Paired like the rates: each round's bare CPU per connect over that round's gateway + Redis.
    const cpuRatio = stats(cpuBareWs.server.map((value, i) => (value / cpuGatewayAndRedis[i]!) * 1_000));
    const cpuRatioMedian = round(cpuRatio.median / 1_000, 3);
    // The whole machine's CPU per connect, clients included: on a machine whose cores the clients and servers share
    // (2 here), the connect ratio cannot rise above bare's total over the gateway's (each round paired as above).
    const machineGw = cpuGatewayAndRedis.map((value, i) => value + cpuGw.client[i]!);
    const machineBare = cpuBareWs.server.map((value, i) => value + cpuBareWs.client[i]!);
    const machineRatio = round(stats(machineBare.map((value, i) => (value / machineGw[i]!) * 1_000)).median / 1_000, 3);
    process.stdout.write(
      `server CPU µs per connect: gateway + Redis ${JSON.stringify(cpu.gateway_and_redis)} (gateway ${JSON.stringify(cpu.gateway)}, Redis ${JSON.stringify(cpu.redis)}) bare ws ${JSON.stringify(cpu.bare_ws)}; bare/gateway+Redis per round median ${cpuRatioMedian}\n` +
        `client CPU µs per connect: gateway rounds ${JSON.stringify(clientCpu.gateway_runs)} bare rounds ${JSON.stringify(clientCpu.bare_runs)}\n` +
        `server CPU µs per close: gateway ${JSON.stringify(closeCpu.gateway)} (its Redis ${JSON.stringify(closeCpu.redis)}) bare ws ${JSON.stringify(closeCpu.bare_ws)}\n` +
        `machine CPU µs per connect (clients, servers, Redis): gateway rounds ${JSON.stringify(stats(machineGw))} bare rounds ${JSON.stringify(stats(machineBare))}; ` +
        `bare/gateway per round median ${machineRatio} (the connect ratio where both keep the shared cores equally busy)\n`,
    );
    // Medians over the measured rounds, per command and in all (the scripts' calls apart from what they call).
    const commands = [...new Set(redisCallsPerConnection.flatMap((round) => Object.keys(round)))].sort();
    const medianOf = (perRound: number[]) => round(stats(perRound).median, 3);
    // A command that only some rounds ran (a heartbeat batch, a reaper pass) has a median of 0 and is left out.
    const byCommand = Object.fromEntries(
      commands.map((command) => [command, medianOf(redisCallsPerConnection.map((r) => r[command] ?? 0))] as const).filter(([, perConnect]) => perConnect > 0),
    );
    const sumOf = (r: Record<string, number>, scripts: boolean) => Object.entries(r).reduce((sum, [command, n]) => (SCRIPT_COMMANDS.has(command) === scripts ? sum + n : sum), 0);
    const redisCalls = {
      commands: medianOf(redisCallsPerConnection.map((r) => sumOf(r, false))),
      scripts: medianOf(redisCallsPerConnection.map((r) => sumOf(r, true))),
      by_command: byCommand,
    };
    process.stdout.write(
      `Redis per connect (median of rounds): ${redisCalls.commands} commands in ${redisCalls.scripts} scripts (${round(1 / redisCalls.scripts, 1)} connects per script); ` +
        `${Object.entries(byCommand).map(([command, n]) => `${command} ${n}`).join(", ")}\n`,
    );
    const routes = await measureRoutes(gatewayA, gatewayB, options.rate!, options.seconds!);
    process.stdout.write(`route latency at ${options.rate}/s: same-instance ${JSON.stringify(routes.same)} cross-instance ${JSON.stringify(routes.cross)}\n`);
    // Fresh processes: the connect rounds above leave heaps whose later shrinking would hide the growth.
    await Promise.allSettled(servers.splice(0).map(stopProcess));
    const tokenValue = signJwt({ tenant_id: "bench", exp: Math.floor(Date.now() / 1000) + 3_600 }, SECRET);
    const freshGateway = await startGateway(redis.url, "bench-gw-rss");
    servers.push(freshGateway);
    const freshBare = await startProcess("bare-ws-rss", ["--input-type=module", "-e", BARE_SERVER], {});
    servers.push(freshBare);
    const rssGateway = await measureIdleRss(freshGateway, options.idle!, tokenValue);
    const rssBare = await measureIdleRss(freshBare, options.idle!, tokenValue);
    process.stdout.write(`RSS per idle connection (${options.idle} sockets): gateway ${Math.round(rssGateway)} B, bare ws ${Math.round(rssBare)} B\n`);
    const result = {
      benchmark: "gateway",
      ratio_connect: ratioConnect,
      ratio_connect_per_round: { min: round(ratioStats.min / 1_000, 3), median: ratioConnect, max: round(ratioStats.max / 1_000, 3) },
      ratio_connect_of_medians: ratioOfMedians,
      server_cpu_us_per_connect: cpu,
      client_cpu_us_per_connect: clientCpu,
      server_cpu_us_per_close: closeCpu,
      cpu_ratio_vs_bare: cpuRatioMedian,
      machine_cpu_ratio_vs_bare: machineRatio,
      redis_calls_per_connect: redisCalls,
      warmup_rounds: WARMUP_ROUNDS,
      connect_per_s: { gateway: gatewayStats, bare_ws: bareStats, rounds: options.rounds, connections: options.connections },
      route_latency: routes,
      cross_vs_same_p50: round(routes.cross.p50_ms / routes.same.p50_ms, 2),
      rss_per_idle_connection_bytes: { gateway: Math.round(rssGateway), bare_ws: Math.round(rssBare), sockets: options.idle },
      memory_ratio_vs_bare: round(rssGateway / rssBare, 3),
      refused_upgrades_retried: refusedUpgrades,
      floors: { ratio_connect: FLOOR_RATIO_CONNECT, memory_ratio_vs_bare_max: FLOOR_MEMORY_RATIO },
      pass: ratioConnect >= FLOOR_RATIO_CONNECT && rssGateway / rssBare <= FLOOR_MEMORY_RATIO,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.pass) process.exitCode = 1;
  } finally {
    statsClient.disconnect();
    await Promise.allSettled(servers.map(stopProcess));
    await redis.stop();
  }
}
