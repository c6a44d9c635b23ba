/**
 * `npm run bench -- registry [--n 20000] [--rounds 3]`: throughput of the Redis registry on a redis-server started
 * for the run, as ratios to auto-pipelined ioredis `SET` measured in the same run and round.
 *
 * Measures register, get, session lookup (4 connections per session), heartbeat of 1,000 connections per call,
 * and unregister. Every operation is driven the way the baseline is: bursts of concurrent calls, and each is paired
 * with a baseline run just before it. `register`, `get`, `heartbeat` and `unregister` run on an auto-pipelining
 * client like the baseline's; `session_lookup`, `register_batched` and `unregister_batched` are what a gateway
 * does: a client configured as src/gateway/backend.ts configures it (no auto-pipelining), lookups as its router
 * makes them, and writes through a {@link RegistryWriter} that group-commits them, driven in bursts of
 * {@link MAX_PENDING_UPGRADES} (the most registrations a gateway lets wait at once).
 *
 * `register` and `register_batched` cost about the same: both are batched. The registry gathers the calls of one
 * tick into scripts of up to `maxBatchSize` (500) records whichever client carries them, so a burst of 2,000 direct
 * registrations is four scripts too; the writer only adds its group commit on top.
 * Prints min/median/max over the rounds; the last line is one JSON object with the medians `ratio_register_batched`
 * (floor 1.0) and `ratio_session_lookup` (floor 0.5) among others. Exit code 1 if a floor is missed.
 */
import { randomUUID } from "node:crypto";
import { RedisServer } from "../harness/runtime/redis-server.js";
import type { ConnectionRecord } from "../src/registry/connection-registry.js";
import { createRedisClient, waitForRedisReady } from "../src/registry/redis-client.js";
import { RedisConnectionRegistry } from "../src/registry/redis-connection-registry.js";
import { NO_FAILPOINTS } from "../src/gateway/failpoints.js";
import { GatewayMetrics } from "../src/gateway/metrics.js";
import { RegistryWriter } from "../src/gateway/registry-writer.js";
import { MAX_PENDING_UPGRADES } from "../src/gateway/upgrade-handler.js";

const DEFAULT_N = 20_000;
const DEFAULT_ROUNDS = 3;
/** Calls in flight at once; the auto-pipelining client batches them. */
const BURST = 2_000;
const CONNECTIONS_PER_SESSION = 4;
const HEARTBEAT_BATCH = 1_000;
/** Floors of issue 14: the gateway's batched writes at least as fast as plain SETs, lookups at least half as fast. */
const FLOOR_RATIO_REGISTER_BATCHED = 1.0;
const FLOOR_RATIO_SESSION_LOOKUP = 0.5;
/**
 * TTL of the records written, in ms: far above a round's length even on a saturated machine (where one round took
 * more than the gateway's default 30 s and the lookups found expired records). The TTL does not change any cost.
 */
const RECORD_TTL_MS = 600_000;

type Operation = "register" | "get" | "session_lookup" | "heartbeat" | "unregister" | "register_batched" | "unregister_batched";
const OPERATIONS: Operation[] = ["register", "get", "session_lookup", "heartbeat", "unregister", "register_batched", "unregister_batched"];

interface Stats {
  min: number;
  median: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
}

function parseArgs(args: string[]): { n: number; rounds: number } {
  const options = { n: DEFAULT_N, rounds: DEFAULT_ROUNDS };
  for (let i = 0; i < args.length; i += 2) {
    const value = Number(args[i + 1]);
    if (args[i] === "--n" && Number.isSafeInteger(value) && value >= HEARTBEAT_BATCH) options.n = value;
    else if (args[i] === "--rounds" && Number.isSafeInteger(value) && value >= 1) options.rounds = value;
    else throw new TypeError(`usage: npm run bench -- registry [--n N>=${HEARTBEAT_BATCH}] [--rounds R>=1]; got ${args.join(" ")}`);
  }
  return options;
}

/** Runs `count` calls of `fn` in bursts of {@link BURST} concurrent calls; resolves with items per second. */
async function rate(count: number, itemsPerCall: number, fn: (i: number) => Promise<unknown>, burst = BURST): Promise<number> {
  const started = performance.now();
  for (let offset = 0; offset < count; offset += burst) {
    const calls: Promise<unknown>[] = [];
    for (let i = offset; i < Math.min(count, offset + burst); i++) calls.push(fn(i));
    await Promise.all(calls);
  }
  const seconds = (performance.now() - started) / 1_000;
  return (count * itemsPerCall) / seconds;
}

export async function run(args: string[]): Promise<void> {
  const { n, rounds } = parseArgs(args);
  const server = await new RedisServer({ runId: `bench-registry-${process.pid}` }).start();
  const client = createRedisClient(server.url, { commandTimeoutMs: 10_000 });
  // As src/gateway/backend.ts builds it: the registry batches per tick itself, ioredis does not auto-pipeline.
  const gatewayClient = createRedisClient(server.url, { commandTimeoutMs: 10_000, autoPipelining: false });
  try {
    await Promise.all([waitForRedisReady(client), waitForRedisReady(gatewayClient)]);
    const perRound = Object.fromEntries([...OPERATIONS, "set"].map((op) => [op, [] as number[]])) as Record<Operation | "set", number[]>;
    const ratios = Object.fromEntries(OPERATIONS.map((op) => [op, [] as number[]])) as Record<Operation, number[]>;
    for (let round = 0; round < rounds; round++) {
      const prefix = `bench${round}_${randomUUID().slice(0, 6)}`;
      const registry = new RedisConnectionRegistry(client, { keyPrefix: prefix, connectionTtlMs: RECORD_TTL_MS });
      const now = Date.now();
      const records: ConnectionRecord[] = Array.from({ length: n }, (_, i) => ({
        websocket_id: `w${i}`,
        session_id: `s${Math.floor(i / CONNECTIONS_PER_SESSION)}`,
        tenant_id: `t${Math.floor(i / CONNECTIONS_PER_SESSION) % 10}`,
        agent_type: `agent${i % 3}`,
        pillar: `pillar${i % 2}`,
        instance_id: `gw${i % 4}`,
        connected_at: now,
        last_activity_at: now,
      }));
      const sessions = Math.ceil(n / CONNECTIONS_PER_SESSION);
      const value = "x".repeat(64);

      // The baseline runs right before each operation, so load from other processes on a shared machine hits both
      // sides of a ratio alike.
      let baselineRun = 0;
      const baseline = () => rate(n, 1, (i) => client.set(`${prefix}:baseline${baselineRun++ % 2}:${i}`, value));
      const sets: number[] = [];
      const paired = async (measure: () => Promise<number>): Promise<[number, number]> => {
        const set = await baseline();
        sets.push(set);
        return [await measure(), set];
      };
      const register = await paired(() => rate(n, 1, (i) => registry.register(records[i]!)));
      const get = await paired(() => rate(n, 1, (i) => registry.getConnection(records[i]!.tenant_id, records[i]!.session_id, records[i]!.websocket_id)));
      let found = 0;
      const lookupRegistry = new RedisConnectionRegistry(gatewayClient, { keyPrefix: prefix, connectionTtlMs: RECORD_TTL_MS });
      const sessionLookup = await paired(() =>
        rate(n, 1, async (i) => {
          const first = records[(i % sessions) * CONNECTIONS_PER_SESSION]!;
          const connections = await lookupRegistry.getSessionConnections(first.tenant_id, first.session_id);
          found += connections.length;
        }),
      );
      await lookupRegistry.close();
      if (found !== n * CONNECTIONS_PER_SESSION) throw new Error(`session lookups found ${found} connections, expected ${n * CONNECTIONS_PER_SESSION}`);
      const batches = n / HEARTBEAT_BATCH;
      const heartbeat = await paired(() =>
        rate(batches, HEARTBEAT_BATCH, async (b) => {
          const entries = records.slice(b * HEARTBEAT_BATCH, (b + 1) * HEARTBEAT_BATCH).map((r) => ({ session_id: r.session_id, websocket_id: r.websocket_id }));
          const result = await registry.heartbeat(entries);
          if (result.refreshed !== entries.length) throw new Error(`heartbeat refreshed ${result.refreshed} of ${entries.length}`);
        }),
      );
      const unregister = await paired(() => rate(n, 1, (i) => registry.unregister(records[i]!.tenant_id, records[i]!.session_id, records[i]!.websocket_id)));
      await registry.close();

      const gatewayRegistry = new RedisConnectionRegistry(gatewayClient, { keyPrefix: `${prefix}gw`, connectionTtlMs: RECORD_TTL_MS });
      const metrics = new GatewayMetrics(() => new Map(), () => true);
      const writer = new RegistryWriter({ instanceId: "gw0", registry: gatewayRegistry, connectionTtlMs: RECORD_TTL_MS, metrics, failpoints: NO_FAILPOINTS });
      const own = records.map((record) => ({ ...record, instance_id: "gw0" }));
      const registerBatched = await paired(() => rate(n, 1, (i) => writer.register(own[i]!), MAX_PENDING_UPGRADES));
      const unregisterBatched = await paired(() =>
        rate(n / MAX_PENDING_UPGRADES, MAX_PENDING_UPGRADES, async (b) => {
          for (let i = b * MAX_PENDING_UPGRADES; i < Math.min(n, (b + 1) * MAX_PENDING_UPGRADES); i++) writer.unregister(own[i]!);
          await writer.settled();
        }, 1),
      );
      if (metrics.unregistrations.get() !== n) throw new Error(`the writer removed ${metrics.unregistrations.get()} records, expected ${n}`);
      await gatewayRegistry.close();
      await client.del(...Array.from({ length: n }, (_, i) => [`${prefix}:baseline0:${i}`, `${prefix}:baseline1:${i}`]).flat());

      const pairs: Record<Operation, [number, number]> = {
        register, get, session_lookup: sessionLookup, heartbeat, unregister, register_batched: registerBatched, unregister_batched: unregisterBatched,
      };
      const set = stats(sets).median;
      perRound.set.push(...sets);
      for (const op of OPERATIONS) {
        perRound[op].push(pairs[op][0]);
        ratios[op].push(pairs[op][0] / pairs[op][1]);
      }
      process.stdout.write(
        `round ${round + 1}/${rounds}: SET median ${Math.round(set)}/s  ` +
          OPERATIONS.map((op) => `${op} ${Math.round(pairs[op][0])}/s (${(pairs[op][0] / pairs[op][1]).toFixed(2)})`).join("  ") +
          "\n",
      );
    }
    const fmt = (s: Stats, digits = 0) => `min ${s.min.toFixed(digits)}  median ${s.median.toFixed(digits)}  max ${s.max.toFixed(digits)}`;
    process.stdout.write(`\nbaseline auto-pipelined SET ops/s: ${fmt(stats(perRound.set))}\n`);
    for (const op of OPERATIONS) {
      const unit = op === "heartbeat" ? `connections/s (${HEARTBEAT_BATCH} per call)` : "ops/s";
      process.stdout.write(`${op.padEnd(15)} ${unit}: ${fmt(stats(perRound[op]))}   ratio to SET: ${fmt(stats(ratios[op]), 2)}\n`);
    }
    const median = (op: Operation) => Number(stats(ratios[op]).median.toFixed(3));
    const pass = median("register_batched") >= FLOOR_RATIO_REGISTER_BATCHED && median("session_lookup") >= FLOOR_RATIO_SESSION_LOOKUP;
    const summary = {
      bench: "registry",
      n,
      rounds,
      connections_per_session: CONNECTIONS_PER_SESSION,
      heartbeat_batch: HEARTBEAT_BATCH,
      baseline_set_ops_per_s: mapStats(stats(perRound.set)),
      ops_per_s: Object.fromEntries(OPERATIONS.map((op) => [op, mapStats(stats(perRound[op]))])),
      ratios: Object.fromEntries(OPERATIONS.map((op) => [op, mapStats(stats(ratios[op]), 3)])),
      ratio_register: median("register"),
      ratio_get: median("get"),
      ratio_session_lookup: median("session_lookup"),
      ratio_heartbeat: median("heartbeat"),
      ratio_unregister: median("unregister"),
      ratio_register_batched: median("register_batched"),
      ratio_unregister_batched: median("unregister_batched"),
      floors: { ratio_register_batched: FLOOR_RATIO_REGISTER_BATCHED, ratio_session_lookup: FLOOR_RATIO_SESSION_LOOKUP },
      pass,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (!pass) process.exitCode = 1;
  } finally {
    client.disconnect();
    gatewayClient.disconnect();
    await server.stop();
  }
}

function mapStats(s: Stats, digits = 0): Stats {
  const round = (v: number) => Number(v.toFixed(digits));
  return { min: round(s.min), median: round(s.median), max: round(s.max) };
}
