/** Contract targets of the registry: memory, and Redis (standalone or Cluster) on a server the test file started. */
import { afterAll, beforeAll } from "vitest";
import type { StartedRedisCluster, StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { MemoryConnectionRegistry } from "../../src/registry/memory-connection-registry.js";
import { createRedisClient, waitForRedisReady, type RedisClient } from "../../src/registry/redis-client.js";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { startSuiteRedis, startSuiteRedisCluster } from "./redis.js";
import { freshNamespace, type ContractRegistryOptions, type ContractTarget } from "./registry-contract.js";

/** The in-memory registry: neither shared nor persistent. */
export function memoryTarget(): ContractTarget {
  return {
    name: "memory",
    shared: false,
    persistent: false,
    atomicCrossSessionCheck: true,
    async create(options: ContractRegistryOptions = {}) {
      return {
        namespace: options.namespace ?? freshNamespace(),
        registry: new MemoryConnectionRegistry({ clock: options.clock, connectionTtlMs: options.connectionTtlMs }),
      };
    },
  };
}

/** Opens a ready client on a started server or cluster. */
export async function openClient(redis: StartedRedisServer | StartedRedisCluster): Promise<RedisClient> {
  const client = createRedisClient(redis.url, { cluster: "nodes" in redis });
  try {
    await waitForRedisReady(client, 10_000);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/**
 * The Redis registry on `getRedis()` (resolved lazily: the server starts in `beforeAll`); `direct` is a plain client on
 * it. `cluster` says whether `getRedis()` will be a Redis Cluster (known before it starts, for `it.runIf`).
 */
export function redisTarget(
  name: string,
  getRedis: () => StartedRedisServer | StartedRedisCluster,
  getDirect: () => RedisClient,
  cluster = false,
): ContractTarget {
  return {
    name,
    shared: true,
    persistent: true,
    atomicCrossSessionCheck: !cluster,
    async create(options: ContractRegistryOptions = {}) {
      const namespace = options.namespace ?? freshNamespace();
      const registry = new RedisConnectionRegistry(await openClient(getRedis()), {
        keyPrefix: namespace,
        closeClient: true,
        clock: options.clock,
        connectionTtlMs: options.connectionTtlMs,
      });
      return { namespace, registry, direct: { client: getDirect(), keys: registry.keys } };
    },
  };
}

/** A Redis (standalone or a 3-master cluster) for a whole suite, with a direct client for checks behind the registry. */
export interface SuiteRedis<R extends StartedRedisServer | StartedRedisCluster> {
  redis(): R;
  direct(): RedisClient;
}

/**
 * Starts Redis in `beforeAll` and stops it (and the direct client) in `afterAll` of the calling suite. Call it at
 * the top level of a file or inside a `describe`.
 */
export function useSuiteRedis(kind: "standalone"): SuiteRedis<StartedRedisServer>;
export function useSuiteRedis(kind: "cluster"): SuiteRedis<StartedRedisCluster>;
export function useSuiteRedis(kind: "standalone" | "cluster"): SuiteRedis<StartedRedisServer | StartedRedisCluster> {
  let redis: StartedRedisServer | StartedRedisCluster | undefined;
  let direct: RedisClient | undefined;
  beforeAll(async () => {
    redis = kind === "cluster" ? await startSuiteRedisCluster() : await startSuiteRedis();
    direct = await openClient(redis);
  });
  afterAll(async () => {
    direct?.disconnect();
    await redis?.stop();
  });
  return { redis: () => redis!, direct: () => direct! };
}
