import { describe, expect, it, onTestFinished } from "vitest";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { defineRegistryContract, freshNamespace, makeRecord } from "../helpers/registry-contract.js";
import { openClient, redisTarget, useSuiteRedis } from "../helpers/registry-targets.js";

const suite = useSuiteRedis("standalone");

defineRegistryContract(redisTarget("Redis standalone", suite.redis, suite.direct));

describe("RedisConnectionRegistry batching", () => {
  it("should send full batches at once, reload scripts Redis lost, and answer every caller", async () => {
    const registry = new RedisConnectionRegistry(await openClient(suite.redis()), { keyPrefix: freshNamespace(), maxBatchSize: 4, closeClient: true });
    onTestFinished(() => registry.close());
    // Full batches go out as EVALSHA outside the auto-pipeline: with an empty script cache they must fall back to EVAL.
    await suite.direct().script("FLUSH");
    const records = Array.from({ length: 10 }, (_, i) => makeRecord({ websocket_id: `w-${i}`, session_id: `s-${i % 3}` }));
    await Promise.all(records.map((record) => registry.register(record)));
    await suite.direct().script("FLUSH");
    const lookups = await Promise.all([0, 1, 2, 0, 1, 2, 0, 1, 2].map((s) => registry.getSessionConnections("tenant-a", `s-${s}`)));
    lookups.forEach((found, i) => expect(found, `lookup ${i}`).toEqual(records.filter((record) => record.session_id === `s-${i % 3}`)));
  });

  it("should write a batch bigger than one ZADD chunk into every index", async () => {
    const registry = new RedisConnectionRegistry(await openClient(suite.redis()), { keyPrefix: freshNamespace(), maxBatchSize: 2_000, closeClient: true });
    onTestFinished(() => registry.close());
    const records = Array.from({ length: 1_500 }, (_, i) => makeRecord({ websocket_id: `w-${i}`, session_id: `s-${i % 100}` }));
    await Promise.all(records.map((record) => registry.register(record)));
    expect(await registry.counts()).toEqual({ total: 1_500, byInstance: { "gw-1": 1_500 }, byTenant: { "tenant-a": 1_500 } });
    expect(await registry.listInstanceConnections("gw-1")).toHaveLength(1_500);
    expect(await registry.getSessionConnections("tenant-a", "s-7")).toHaveLength(15);
  });
});
