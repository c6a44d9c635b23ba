/**
 * `npx tsx harness/cli/topology-start.ts [rounds] [instances]`: measures the time to start the local topology
 * (Redis, Toxiproxy-compatible server, N reference gateways, all ready), min/median/max over rounds, next to a
 * baseline measured in the same run: one bare redis-server to PONG. Last line: one JSON object.
 */
import { randomBytes } from "node:crypto";
import { spreadOf } from "../common/spread.js";
import { LocalRuntime } from "../runtime/local-runtime.js";
import { RedisServer } from "../runtime/redis-server.js";

const rounds = Number(process.argv[2] ?? 5);
const instances = Number(process.argv[3] ?? 3);

function stats(values: number[]) {
  const { min, median, max } = spreadOf(values);
  return { min: Math.round(min), median: Math.round(median), max: Math.round(max) };
}

const topology: number[] = [];
const redis: number[] = [];
for (let round = 0; round < rounds; round++) {
  let t0 = performance.now();
  const server = await new RedisServer({ runId: "measure" }).start();
  redis.push(performance.now() - t0);
  await server.stop();
  t0 = performance.now();
  const runtime = await new LocalRuntime({ runId: `measure-${randomBytes(2).toString("hex")}`, instances }).start();
  topology.push(performance.now() - t0);
  await runtime.stop();
}
const result = { instances, rounds, topology_start_ms: stats(topology), redis_start_ms: stats(redis), ratio_median_vs_redis: Math.round((stats(topology).median / stats(redis).median) * 10) / 10 };
process.stdout.write(`topology of ${instances} gateways: min ${result.topology_start_ms.min} ms, median ${result.topology_start_ms.median} ms, max ${result.topology_start_ms.max} ms (bare redis-server median ${result.redis_start_ms.median} ms)\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
