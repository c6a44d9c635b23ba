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

  it("should unregister a batch bigger than one ZREM chunk item by item, refusals and repeats included", async () => {
    const registry = new RedisConnectionRegistry(await openClient(suite.redis()), { keyPrefix: freshNamespace(), maxBatchSize: 2_000, closeClient: true });
    onTestFinished(() => registry.close());
    const records = Array.from({ length: 1_500 }, (_, i) => makeRecord({ websocket_id: `w-${i}`, session_id: `s-${i % 100}` }));
    await Promise.all(records.map((record) => registry.register(record)));
    // One tick, one script: another tenant's and another instance's removals are refused, a repeat finds nothing.
    const results = await Promise.all([
      registry.unregister("tenant-b", "s-0", "w-0"),
      registry.unregister("tenant-a", "s-0", "w-0", { ifInstanceId: "gw-2" }),
      ...records.map((record) => registry.unregister(record.tenant_id, record.session_id, record.websocket_id, { ifInstanceId: "gw-1" })),
      registry.unregister("tenant-a", "s-1", "w-1"),
    ]);
    expect(results).toEqual([false, false, ...records.map(() => true), false]);
    expect(await registry.counts()).toEqual({ total: 0, byInstance: {}, byTenant: {} });
    expect(await registry.listInstanceConnections("gw-1")).toEqual([]);
    expect(await registry.getSessionConnections("tenant-a", "s-7")).toEqual([]);
    expect(await registry.findConnection("tenant-a", "w-7")).toBeNull();
    const left = await suite.direct().keys(`${registry.keys.prefix}:*websocket*`);
    expect(left, "no record, session index, global index or reverse index left").toEqual([]);
  });
});
