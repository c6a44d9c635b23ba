/**
 * `npm run bench -- toxiproxy [--rounds N] [--megabytes M] [--pings P]`: throughput and added latency through a
 * Toxiproxy-compatible proxy without toxics, against a direct TCP connection to the same echo server, measured in
 * the same run. The proxy server runs in its own process, as a proxy does in the local runtime; the echo server and
 * the client share this one, so both paths load this process identically and the ratio isolates what the proxy
 * hop costs end to end. Prints min/median/max per round kind; the last line is one JSON object.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Toxiproxy } from "toxiproxy-node-client";

const ROLE_ENV = "TOXIPROXY_BENCH_ROLE";
const CHUNK_BYTES = 64 * 1024;
/** Floors of issue 14: proxied throughput at least this share of direct TCP (median of rounds) ... */
const FLOOR_RATIO_THROUGHPUT = 0.8;
/** ... and no round below this share ... */
const FLOOR_RATIO_THROUGHPUT_ROUND = 0.6;
/** ... and at most this many ms added to the round trip's p50 (median of rounds). */
const FLOOR_ADDED_P50_MS = 0.1;

interface Stats {
  min: number;
  median: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
}

function parseArgs(args: string[]): { rounds: number; megabytes: number; pings: number } {
  const out = { rounds: 5, megabytes: 64, pings: 2_000 };
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i]!.replace(/^--/, "") as keyof typeof out;
    const value = Number(args[i + 1]);
    if (!(key in out) || !Number.isInteger(value) || value <= 0) {
      throw new TypeError(`usage: npm run bench -- toxiproxy [--rounds N] [--megabytes M] [--pings P] (bad: ${args[i]} ${args[i + 1]})`);
    }
    out[key] = value;
  }
  return out;
}

/** An echo server on a free port of 127.0.0.1. */
async function startEcho(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.pipe(socket);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Child role: the Toxiproxy-compatible server that reports its API URL. */
async function runProxyChild(): Promise<void> {
  const { ToxiproxyServer } = await import("../harness/toxiproxy/index.js");
  const server = await new ToxiproxyServer({ port: 0, seed: 1 }).start();
  process.send!({ url: server.url });
  process.on("disconnect", () => void server.stop().then(() => process.exit(0)));
}

async function spawnChild<T>(role: string): Promise<{ child: ChildProcess; message: T }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [ROLE_ENV]: role },
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [message] = (await once(child, "message")) as [T];
  return { child, message };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** MB/s of `bytes` sent and echoed back over one connection, writing with backpressure. */
async function throughput(port: number, bytes: number): Promise<number> {
  const socket = await open(port);
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
  const startedAt = performance.now();
  let received = 0;
  const done = new Promise<void>((resolve) => {
    socket.on("data", (data: Buffer) => {
      received += data.length;
      if (received >= bytes) resolve();
    });
  });
  let sent = 0;
  while (sent < bytes) {
    sent += chunk.length;
    if (!socket.write(chunk)) await once(socket, "drain");
  }
  await done;
  const seconds = (performance.now() - startedAt) / 1000;
  socket.destroy();
  return bytes / 1e6 / seconds;
}

/** Median round-trip time in ms of `count` 32-byte ping-pongs, one at a time. */
async function roundTrip(port: number, count: number): Promise<number> {
  const socket = await open(port);
  const message = Buffer.alloc(32, 0x61);
  const samples: number[] = [];
  for (let i = 0; i < count + 50; i++) {
    const startedAt = performance.now();
    const reply = once(socket, "data");
    socket.write(message);
    await reply;
    if (i >= 50) samples.push(performance.now() - startedAt);
  }
  socket.destroy();
  return stats(samples).median;
}

function format(s: Stats, digits: number): string {
  return `min ${s.min.toFixed(digits)} / median ${s.median.toFixed(digits)} / max ${s.max.toFixed(digits)}`;
}

/** Entry point called by bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const { rounds, megabytes, pings } = parseArgs(args);
  const echo = await startEcho();
  const proxyServer = await spawnChild<{ url: string }>("proxy");
  try {
    const toxiproxy = new Toxiproxy(proxyServer.message.url);
    const proxy = await toxiproxy.createProxy({ name: "bench", listen: "127.0.0.1:0", upstream: `127.0.0.1:${echo.port}` });
    const proxyPort = Number(proxy.listen.split(":")[1]);
    const directPort = echo.port;
    const bytes = megabytes * 1e6;
    await throughput(directPort, bytes / 4);
    await throughput(proxyPort, bytes / 4);
    const direct = { mbps: [] as number[], rtt: [] as number[] };
    const proxied = { mbps: [] as number[], rtt: [] as number[] };
    const ratios: number[] = [];
    const added: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so that drift on a shared machine does not favour one side.
      const first = round % 2 === 0;
      const d1 = first ? await throughput(directPort, bytes) : 0;
      const p1 = await throughput(proxyPort, bytes);
      const d2 = first ? d1 : await throughput(directPort, bytes);
      direct.mbps.push(d2);
      proxied.mbps.push(p1);
      ratios.push(p1 / d2);
      const dr = await roundTrip(directPort, pings);
      const pr = await roundTrip(proxyPort, pings);
      direct.rtt.push(dr);
      proxied.rtt.push(pr);
      added.push(pr - dr);
      process.stdout.write(
        `round ${round + 1}/${rounds}: direct ${d2.toFixed(0)} MB/s, proxied ${p1.toFixed(0)} MB/s (ratio ${(p1 / d2).toFixed(2)}); ` +
          `rtt p50 direct ${dr.toFixed(3)} ms, proxied ${pr.toFixed(3)} ms (+${(pr - dr).toFixed(3)} ms)\n`,
      );
    }
    process.stdout.write(`throughput direct   MB/s: ${format(stats(direct.mbps), 0)}\n`);
    process.stdout.write(`throughput proxied  MB/s: ${format(stats(proxied.mbps), 0)}\n`);
    process.stdout.write(`throughput ratio        : ${format(stats(ratios), 2)}\n`);
    process.stdout.write(`rtt p50 direct      ms  : ${format(stats(direct.rtt), 3)}\n`);
    process.stdout.write(`rtt p50 proxied     ms  : ${format(stats(proxied.rtt), 3)}\n`);
    process.stdout.write(`added p50           ms  : ${format(stats(added), 3)}\n`);
    const result = {
      bench: "toxiproxy",
      rounds,
      megabytes,
      pings,
      direct_mbps: stats(direct.mbps),
      proxied_mbps: stats(proxied.mbps),
      ratio_throughput: Number(stats(ratios).median.toFixed(3)),
      ratio_throughput_stats: stats(ratios),
      ratio_throughput_min: Number(stats(ratios).min.toFixed(3)),
      direct_rtt_p50_ms: stats(direct.rtt),
      proxied_rtt_p50_ms: stats(proxied.rtt),
      added_p50_ms: Number(stats(added).median.toFixed(4)),
      added_p50_ms_stats: stats(added),
      floors: { ratio_throughput: FLOOR_RATIO_THROUGHPUT, ratio_throughput_min: FLOOR_RATIO_THROUGHPUT_ROUND, added_p50_ms_max: FLOOR_ADDED_P50_MS },
      pass:
        stats(ratios).median >= FLOOR_RATIO_THROUGHPUT && stats(ratios).min >= FLOOR_RATIO_THROUGHPUT_ROUND && stats(added).median <= FLOOR_ADDED_P50_MS,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    echo.close();
    proxyServer.child.disconnect();
    await once(proxyServer.child, "exit");
  }
}

const role = process.env[ROLE_ENV];
if (role === "proxy") await runProxyChild();
