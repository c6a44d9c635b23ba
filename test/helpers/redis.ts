/** Real Redis for tests: servers and clusters on free ports, and clients and registries on them, each cleaned up. */
import { Redis, type RedisOptions } from "ioredis";
import { onTestFinished } from "vitest";
import { RedisCluster, RedisServer, type StartedRedisCluster, type StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { waitForRedisReady } from "../../src/registry/redis-client.js";

/** Run id the test Redis processes are tagged with. */
const TEST_RUN_ID = "test";

/**
 * Starts a real redis-server for one test; it is stopped when the test finishes, pass or fail.
 * @param options.port a fixed port, e.g. to bring Redis back on the port of one that was killed. @default a free port
 */
export async function useRedisServer(options: { port?: number } = {}): Promise<StartedRedisServer> {
  const server = await new RedisServer({ runId: TEST_RUN_ID, ...options }).start();
  onTestFinished(() => server.stop());
  return server;
}

/** Starts a real 3-master Redis Cluster for one test; it is stopped when the test finishes. */
export async function useRedisCluster(): Promise<StartedRedisCluster> {
  const cluster = await new RedisCluster({ runId: TEST_RUN_ID }).start();
  onTestFinished(() => cluster.stop());
  return cluster;
}

/** Starts a redis-server for a whole suite (call from `beforeAll`, stop from the returned handle in `afterAll`). */
export function startSuiteRedis(): Promise<StartedRedisServer> {
  return new RedisServer({ runId: TEST_RUN_ID }).start();
}

/** Starts a 3-master Redis Cluster for a whole suite. */
export function startSuiteRedisCluster(): Promise<StartedRedisCluster> {
  return new RedisCluster({ runId: TEST_RUN_ID }).start();
}

/** A plain ioredis client on `host:port` for checks behind the system under test; disconnected when the test finishes. */
export function useRedisClient(address: { host: string; port: number }, options: RedisOptions = {}): Redis {
  const client = new Redis({ host: address.host, port: address.port, ...options });
  onTestFinished(() => void client.disconnect());
  return client;
}

/**
 * The Redis connection registry on `url` (the gateways' default key prefix), connected (its client queues nothing, so
 * a first command before the connection is ready would fail: seen once in a loaded CI run); closed when the test
 * finishes.
 */
export async function useRegistry(url: string): Promise<RedisConnectionRegistry> {
  const registry = RedisConnectionRegistry.fromUrl(url);
  onTestFinished(() => registry.close());
  await waitForRedisReady(registry.client);
  return registry;
}
