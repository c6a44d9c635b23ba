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
 * `register` and `register_batched` are both batched. The registry gathers the calls of one tick into scripts of up
 * to `maxBatchSize` (500) records whichever client carries them, so a burst of 2,000 direct registrations is four
 * scripts too; the writer adds its group commit on top, and registers with `newId` as a gateway does (no read of an
 * old record), which makes `register_batched` cost Redis about 2 us less per item.
 * Prints min/median/max over the rounds; the last line is one JSON object with the medians `ratio_register_batched`
 * (floor 1.0) and `ratio_session_lookup` (floor 0.5) among others. Exit code 1 if a floor is missed.
 *
 * Next to each rate, Redis's own CPU time per item (`redis_cpu_us_per_item`, from `INFO cpu` around each measured
 * burst, SET's included): an operation whose Redis CPU per item is near its wall time per item is bound by Redis's
 * one core, one far below it by the client.
 */
import { randomUUID } from "node:crypto";
import { RedisServer } from "../harness/runtime/redis-server.js";
import type { ConnectionRecord } from "../src/registry/connection-registry.js";
import { createRedisClient, waitForRedisReady, type RedisClient } from "../src/registry/redis-client.js";
import { RedisConnectionRegistry } from "../src/registry/redis-connection-registry.js";
import { NO_FAILPOINTS } from "../src/gateway/failpoints.js";
import { GatewayMetrics } from "../src/gateway/metrics.js";
import { RegistryWriter } from "../src/gateway/registry-writer.js";
import { MAX_PENDING_UPGRADES } from "../src/gateway/upgrade-handler.js";
import { HarnessError } from "../harness/errors.js";
import { spreadOf, type Spread } from "../harness/common/spread.js";

const DEFAULT_N = 20_000;
const DEFAULT_ROUNDS = 3;
/** Calls in flight at once; the auto-pipelining client batches them. */
const BURST = 2_000;
const CONNECTIONS_PER_SESSION = 4;
const HEARTBEAT_BATCH = 1_000;
/** Baseline keys deleted per DEL (twice as many keys: both baselines). */
const DELETE_CHUNK = 5_000;
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

type Stats = Spread;

const stats = (values: number[]): Stats => spreadOf(values);

function parseArgs(args: string[]): { n: number; rounds: number } {
  const options = { n: DEFAULT_N, rounds: DEFAULT_ROUNDS };
  for (let i = 0; i < args.length; i += 2) {
    const value = Number(args[i + 1]);
    if (args[i] === "--n" && Number.isSafeInteger(value) && value >= HEARTBEAT_BATCH) options.n = value;
    else if (args[i] === "--rounds" && Number.isSafeInteger(value) && value >= 1) options.rounds = value;
    else throw new HarnessError("HARNESS_ERR_USAGE", `usage: npm run bench -- registry [--n N>=${HEARTBEAT_BATCH}] [--rounds R>=1]; got ${args.join(" ")}`);
  }
  return options;
}

/** Redis's CPU time so far (user + system, `INFO cpu`, microsecond resolution), in microseconds. */
async function redisCpuMicros(client: RedisClient): Promise<number> {
  const info = await client.info("cpu");
  const seconds = (field: string) => {
    const value = Number(new RegExp(`^${field}:([0-9.]+)`, "m").exec(info)?.[1]);
    if (!Number.isFinite(value)) throw new Error(`INFO cpu has no ${field}`);
    return value;
  };
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6;
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
    const redisCpu = Object.fromEntries([...OPERATIONS, "set"].map((op) => [op, [] as number[]])) as Record<Operation | "set", number[]>;
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
      /** Items per second and Redis's CPU µs per item of `measure` (every operation handles `n` items). */
      const withRedisCpu = async (measure: () => Promise<number>): Promise<[number, number]> => {
        const before = await redisCpuMicros(client);
        const itemsPerS = await measure();
        return [itemsPerS, ((await redisCpuMicros(client)) - before) / n];
      };
      const paired = async (measure: () => Promise<number>): Promise<[number, number, number]> => {
        const [set, setCpu] = await withRedisCpu(baseline);
        sets.push(set);
        redisCpu.set.push(setCpu);
        const [itemsPerS, cpu] = await withRedisCpu(measure);
        return [itemsPerS, set, cpu];
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
      // In chunks: ioredis spreads a command's arguments on the stack, and 2 * n of them overflow it at large n.
      for (let offset = 0; offset < n; offset += DELETE_CHUNK) {
        const keys = Array.from({ length: Math.min(DELETE_CHUNK, n - offset) }, (_, i) => [`${prefix}:baseline0:${offset + i}`, `${prefix}:baseline1:${offset + i}`]);
        await client.del(...keys.flat());
      }

      const pairs: Record<Operation, [number, number, number]> = {
        register, get, session_lookup: sessionLookup, heartbeat, unregister, register_batched: registerBatched, unregister_batched: unregisterBatched,
      };
      const set = stats(sets).median;
      perRound.set.push(...sets);
      for (const op of OPERATIONS) {
        perRound[op].push(pairs[op][0]);
        ratios[op].push(pairs[op][0] / pairs[op][1]);
        redisCpu[op].push(pairs[op][2]);
      }
      process.stdout.write(
        `round ${round + 1}/${rounds}: SET median ${Math.round(set)}/s  ` +
          OPERATIONS.map((op) => `${op} ${Math.round(pairs[op][0])}/s (${(pairs[op][0] / pairs[op][1]).toFixed(2)})`).join("  ") +
          "\n",
      );
    }
    const fmt = (s: Stats, digits = 0) => `min ${s.min.toFixed(digits)}  median ${s.median.toFixed(digits)}  max ${s.max.toFixed(digits)}`;
    const cpu = (op: Operation | "set") => `Redis CPU µs per item: ${fmt(stats(redisCpu[op]), 1)}`;
    process.stdout.write(`\nbaseline auto-pipelined SET ops/s: ${fmt(stats(perRound.set))}   ${cpu("set")}\n`);
    for (const op of OPERATIONS) {
      const unit = op === "heartbeat" ? `connections/s (${HEARTBEAT_BATCH} per call)` : "ops/s";
      process.stdout.write(`${op.padEnd(15)} ${unit}: ${fmt(stats(perRound[op]))}   ratio to SET: ${fmt(stats(ratios[op]), 2)}   ${cpu(op)}\n`);
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
      redis_cpu_us_per_item: Object.fromEntries([...OPERATIONS, "set" as const].map((op) => [op, mapStats(stats(redisCpu[op]), 2)])),
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
