import { describe, expect, it, onTestFinished } from "vitest";
import { WRITE_PRUNE_EVERY } from "../../src/registry/lua-scripts.js";
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

describe("RedisConnectionRegistry pruning", () => {
  it("should prune the session and global indexes a write touches in about one write script of WRITE_PRUNE_EVERY", async () => {
    // The registry's clock decides both liveness (index scores) and the prune (now a multiple of WRITE_PRUNE_EVERY):
    // records written at t0 are dead at t1 for every reader while Redis still holds their members (its TTLs run on
    // real time).
    let now = 1_000 * WRITE_PRUNE_EVERY;
    const registry = new RedisConnectionRegistry(await openClient(suite.redis()), { keyPrefix: freshNamespace(), connectionTtlMs: 5_000, clock: () => now, closeClient: true });
    onTestFinished(() => registry.close());
    const dead = [makeRecord({ websocket_id: "w-dead-1", session_id: "s-1" }), makeRecord({ websocket_id: "w-dead-2", session_id: "s-1" })];
    await Promise.all(dead.map((record) => registry.register(record)));
    const members = async () => ({
      session: await suite.direct().zcard(registry.keys.sessionIndex("s-1")),
      instance: await suite.direct().zcard(registry.keys.instanceIndex("gw-1")),
    });
    expect(await members()).toEqual({ session: 2, instance: 2 });
    // A write whose clock is not a multiple leaves the dead members (readers skip them) ...
    now += 60_000 + 1;
    await registry.register(makeRecord({ websocket_id: "w-live-1", session_id: "s-1", connected_at: now, last_activity_at: now }), { newId: true });
    expect(await members()).toEqual({ session: 3, instance: 3 });
    expect((await registry.getSessionConnections("tenant-a", "s-1")).map((record) => record.websocket_id)).toEqual(["w-live-1"]);
    // ... and one whose clock is prunes every index it touches (here a batch of two: one script, as a single write is).
    now += WRITE_PRUNE_EVERY - (now % WRITE_PRUNE_EVERY);
    await Promise.all(["w-live-2", "w-live-3"].map((w) => registry.register(makeRecord({ websocket_id: w, session_id: "s-1", connected_at: now, last_activity_at: now }), { newId: true })));
    expect(await members()).toEqual({ session: 3, instance: 3 });
    expect((await registry.counts()).total).toBe(3);
  });
});

describe("RedisConnectionRegistry key TTLs", () => {
  /** Every key under `prefix` with its PTTL. */
  async function ttls(prefix: string): Promise<Record<string, number>> {
    const keys = await suite.direct().keys(`${prefix}:*`);
    return Object.fromEntries(await Promise.all(keys.map(async (key) => [key.slice(prefix.length + 1), await suite.direct().pttl(key)] as const)));
  }

  it("should give every connection key, index and name registry a TTL no longer than the connection TTL", async () => {
    const prefix = freshNamespace();
    const registry = new RedisConnectionRegistry(await openClient(suite.redis()), { keyPrefix: prefix, connectionTtlMs: 5_000, closeClient: true });
    onTestFinished(() => registry.close());
    const records = [makeRecord({ websocket_id: "w-1", session_id: "s-1" }), makeRecord({ websocket_id: "w-2", session_id: "s-1" })];
    const expectBounded = (keys: Record<string, number>) => {
      for (const [key, ttl] of Object.entries(keys)) {
        if (key.endsWith(":tenant")) expect(ttl, key).toBeGreaterThan(5_000); // the session owner keeps the session TTL
        else expect([key, ttl > 0 && ttl <= 5_000]).toEqual([key, true]);
      }
      expect(Object.keys(keys)).toEqual(
        expect.arrayContaining(["agent_type:agent:websockets", "agent_types", "instances", "tenants", "websocket:w-1:session", "session:s-1:websockets"]),
      );
    };
    // After the registrations alone (a new session's keys get their TTL from the write), then after a heartbeat.
    await Promise.all(records.map((record) => registry.register(record)));
    expectBounded(await ttls(prefix));
    await registry.heartbeat(records.map((r) => ({ session_id: r.session_id, websocket_id: r.websocket_id })));
    expectBounded(await ttls(prefix));
  });

  it("should leave the defects of its negative controls: a reverse key without TTL, an agent type member after unregister", async () => {
    const prefix = freshNamespace();
    const registry = new RedisConnectionRegistry(await openClient(suite.redis()), {
      keyPrefix: prefix,
      connectionTtlMs: 5_000,
      closeClient: true,
      negativeControls: { reverseWithoutTtl: true, keepAgentTypeMember: true },
    });
    onTestFinished(() => registry.close());
    const record = makeRecord({ websocket_id: "w-1", session_id: "s-1" });
    await registry.register(record);
    expect((await ttls(prefix))["websocket:w-1:session"]).toBe(-1);
    await registry.unregister(record.tenant_id, record.session_id, record.websocket_id);
    const left = await ttls(prefix);
    expect(Object.keys(left).filter((key) => key.endsWith(":websockets"))).toEqual([`agent_type:${record.agent_type}:websockets`]);
  });
});
