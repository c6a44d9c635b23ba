import { onTestFinished } from "vitest";
import { RedisCluster, RedisServer, type StartedRedisCluster, type StartedRedisServer } from "../../harness/runtime/redis-server.js";

/** Starts a real redis-server on a free port for one test; it is stopped when the test finishes, pass or fail. */
export async function useRedisServer(): Promise<StartedRedisServer> {
  const server = await new RedisServer({ runId: "test" }).start();
  onTestFinished(() => server.stop());
  return server;
}

/** Starts a real 3-master Redis Cluster for one test; it is stopped when the test finishes. */
export async function useRedisCluster(): Promise<StartedRedisCluster> {
  const cluster = await new RedisCluster({ runId: "test" }).start();
  onTestFinished(() => cluster.stop());
  return cluster;
}

/** Starts a redis-server for a whole suite (call from `beforeAll`, stop from the returned handle in `afterAll`). */
export function startSuiteRedis(): Promise<StartedRedisServer> {
  return new RedisServer({ runId: "test" }).start();
}

/** Starts a 3-master Redis Cluster for a whole suite. */
export function startSuiteRedisCluster(): Promise<StartedRedisCluster> {
  return new RedisCluster({ runId: "test" }).start();
}
