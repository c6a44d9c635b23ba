import { afterAll, beforeAll } from "vitest";
import type { StartedRedisServer } from "../../harness/runtime/redis-server.js";
import type { RedisClient } from "../../src/registry/redis-client.js";
import { startSuiteRedis } from "../helpers/redis.js";
import { defineRegistryContract } from "../helpers/registry-contract.js";
import { openClient, redisTarget } from "../helpers/registry-targets.js";

let server: StartedRedisServer;
let direct: RedisClient;

beforeAll(async () => {
  server = await startSuiteRedis();
  direct = await openClient(server);
});

afterAll(async () => {
  direct?.disconnect();
  await server?.stop();
});

defineRegistryContract(redisTarget("Redis standalone", () => server, () => direct));
