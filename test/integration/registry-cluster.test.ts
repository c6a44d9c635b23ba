import { afterAll, beforeAll } from "vitest";
import type { StartedRedisCluster } from "../../harness/runtime/redis-server.js";
import type { RedisClient } from "../../src/registry/redis-client.js";
import { startSuiteRedisCluster } from "../helpers/redis.js";
import { defineRegistryContract } from "../helpers/registry-contract.js";
import { openClient, redisTarget } from "../helpers/registry-targets.js";

let cluster: StartedRedisCluster;
let direct: RedisClient;

beforeAll(async () => {
  cluster = await startSuiteRedisCluster();
  direct = await openClient(cluster);
});

afterAll(async () => {
  direct?.disconnect();
  await cluster?.stop();
});

defineRegistryContract(redisTarget("Redis Cluster (3 masters)", () => cluster, () => direct, true));
