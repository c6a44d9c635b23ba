/**
 * The contract suite of {@link ConnectionRegistry}, run against every implementation (memory, Redis standalone,
 * Redis Cluster). Each test creates its own registries through the target, which isolates them (own key prefix).
 * Where implementations differ by design (sharing between instances, persistence across a new instance), the target
 * says which way it goes and the suite asserts that way.
 */
import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import type { ConnectionRecord, ConnectionRegistry } from "../../src/registry/connection-registry.js";
import { GLOBAL_INDEX_KINDS, type RegistryKeys } from "../../src/registry/keys.js";
import type { RedisClient } from "../../src/registry/redis-client.js";

/** Options a test passes when it creates a registry. */
export interface ContractRegistryOptions {
  clock?: () => number;
  connectionTtlMs?: number;
  /** Reuse the namespace (Redis key prefix) of an earlier registry of the same test. */
  namespace?: string;
}

/** A registry under test, with what the suite may inspect directly. */
export interface ContractRegistry {
  registry: ConnectionRegistry;
  namespace: string;
  /** Redis targets only: a plain client on the same Redis, and the registry's key builder. */
  direct?: { client: RedisClient; keys: RegistryKeys };
}

/** One implementation the suite runs against. */
export interface ContractTarget {
  name: string;
  /** Registry instances with the same namespace share their data (Redis) or not (memory). */
  shared: boolean;
  /** A new registry instance on the same namespace still sees earlier records (Redis) or not (memory). */
  persistent: boolean;
  /**
   * The check that a websocket id is not live in another session is atomic with the write (memory, standalone
   * Redis), so two racing registrations of one id in two sessions never both succeed. On Redis Cluster the other
   * session lives in another slot and the check runs just before the write.
   */
  atomicCrossSessionCheck: boolean;
  create(options?: ContractRegistryOptions): Promise<ContractRegistry>;
}

/** A manual clock starting at the real time; `advance` moves it forward. */
export function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return { now: () => current, advance: (ms) => void (current += ms) };
}

/** A valid record; override any field. */
export function makeRecord(overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  const now = Date.now();
  return {
    websocket_id: `ws-${randomUUID()}`,
    session_id: "session-1",
    tenant_id: "tenant-a",
    agent_type: "agent",
    pillar: "pillar-1",
    instance_id: "gw-1",
    connected_at: now,
    last_activity_at: now,
    ...overrides,
  };
}

/** Number of keys in Redis (summed over the masters of a cluster). */
export async function countKeys(client: RedisClient): Promise<number> {
  if (client instanceof Cluster) {
    const sizes = await Promise.all(client.nodes("master").map((node) => node.dbsize()));
    return sizes.reduce((sum, n) => sum + n, 0);
  }
  return client.dbsize();
}

/** Keys of one namespace, sorted (SCAN per master; tests only). */
export async function listKeys(client: RedisClient, prefix: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client];
  const keys = await Promise.all(
    nodes.map(async (node) => {
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        found.push(...batch);
      } while (cursor !== "0");
      return found;
    }),
  );
  return keys.flat().sort();
}

const ids = (records: ConnectionRecord[]) => records.map((record) => record.websocket_id);

/** Registers the contract suite for `target`. */
export function defineRegistryContract(target: ContractTarget): void {
  const open = async (options?: ContractRegistryOptions) => {
    const created = await target.create(options);
    onTestFinished(() => created.registry.close());
    return created;
  };

  describe(`ConnectionRegistry contract: ${target.name}`, () => {
    it("should register a connection and get it back with equal fields", async () => {
      const { registry } = await open();
      const record = makeRecord();
      await registry.register(record);
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toEqual(record);
      expect(await registry.getConnection("tenant-a", "session-1", "ws-absent")).toBeNull();
      expect(await registry.getConnection("tenant-a", "session-absent", record.websocket_id)).toBeNull();
    });

    it("should find a connection by websocket id through the reverse index", async () => {
      const { registry } = await open();
      const record = makeRecord({ session_id: "s-rev" });
      await registry.register(record);
      expect(await registry.findConnection("tenant-a", record.websocket_id)).toEqual(record);
      expect(await registry.getSessionIdOf("tenant-a", record.websocket_id)).toBe("s-rev");
      expect(await registry.findConnection("tenant-a", "ws-absent")).toBeNull();
      expect(await registry.getSessionIdOf("tenant-a", "ws-absent")).toBeNull();
    });

    it("should list a session's connections, filtered by agent type and/or pillar", async () => {
      const { registry } = await open();
      const a1 = makeRecord({ websocket_id: "w-1", agent_type: "a", pillar: "x" });
      const a2 = makeRecord({ websocket_id: "w-2", agent_type: "a", pillar: "y" });
      const b1 = makeRecord({ websocket_id: "w-3", agent_type: "b", pillar: "x" });
      const other = makeRecord({ websocket_id: "w-4", session_id: "session-2" });
      for (const record of [b1, a2, a1, other]) await registry.register(record);
      expect(await registry.getSessionConnections("tenant-a", "session-1")).toEqual([a1, a2, b1]);
      expect(ids(await registry.getSessionConnections("tenant-a", "session-1", { agent_type: "a" }))).toEqual(["w-1", "w-2"]);
      expect(ids(await registry.getSessionConnections("tenant-a", "session-1", { pillar: "x" }))).toEqual(["w-1", "w-3"]);
      expect(ids(await registry.getSessionConnections("tenant-a", "session-1", { agent_type: "a", pillar: "x" }))).toEqual(["w-1"]);
      expect(await registry.getSessionConnections("tenant-a", "session-1", { agent_type: "c" })).toEqual([]);
      expect(await registry.getSessionConnections("tenant-a", "session-3")).toEqual([]);
    });

    it("should unregister a connection once, removing it from every lookup", async () => {
      const { registry } = await open();
      const record = makeRecord();
      const kept = makeRecord();
      await registry.register(record);
      await registry.register(kept);
      expect(await registry.unregister("tenant-a", "session-1", record.websocket_id)).toBe(true);
      expect(await registry.unregister("tenant-a", "session-1", record.websocket_id)).toBe(false);
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toBeNull();
      expect(await registry.findConnection("tenant-a", record.websocket_id)).toBeNull();
      expect(ids(await registry.getSessionConnections("tenant-a", "session-1"))).toEqual([kept.websocket_id]);
      expect(ids(await registry.listInstanceConnections("gw-1"))).toEqual([kept.websocket_id]);
      expect((await registry.counts()).total).toBe(1);
    });

    it("should unregister with ifInstanceId only while the record is held by that instance", async () => {
      const { registry } = await open();
      const record = makeRecord();
      await registry.register(record);
      await registry.repoint({ ...record, instance_id: "gw-2" });
      expect(await registry.unregister("tenant-a", "session-1", record.websocket_id, { ifInstanceId: "gw-1" })).toBe(false);
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toMatchObject({ instance_id: "gw-2" });
      expect(await registry.unregister("tenant-a", "session-1", record.websocket_id, { ifInstanceId: "gw-2" })).toBe(true);
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toBeNull();
    });

    it("should expire a record without heartbeat after its TTL (real TTL, polled)", async () => {
      const { registry, direct } = await open();
      const record = makeRecord({ session_id: "s-ttl" });
      const live = makeRecord({ session_id: "s-ttl" });
      await registry.register(record, { ttlMs: 300 });
      await registry.register(live, { ttlMs: 60_000 });
      expect(await registry.getConnection("tenant-a", "s-ttl", record.websocket_id)).toEqual(record);
      await expect.poll(() => registry.getConnection("tenant-a", "s-ttl", record.websocket_id), { timeout: 5_000, interval: 50 }).toBeNull();
      expect(ids(await registry.getSessionConnections("tenant-a", "s-ttl"))).toEqual([live.websocket_id]);
      expect(await registry.findConnection("tenant-a", record.websocket_id)).toBeNull();
      expect(ids(await registry.listInstanceConnections("gw-1"))).toEqual([live.websocket_id]);
      expect((await registry.counts()).total).toBe(1);
      if (direct) {
        // A direct reader that honours the scores never takes the expired member for live.
        const { client, keys } = direct;
        const liveMin = `(${Date.now()}`;
        for (const key of [keys.sessionIndex("s-ttl"), keys.agentTypeIndex("agent"), keys.pillarIndex("pillar-1"), keys.instanceIndex("gw-1"), keys.tenantIndex("tenant-a")]) {
          expect(await client.zrangebyscore(key, liveMin, "+inf"), key).toEqual([live.websocket_id]);
        }
        expect(await client.exists(keys.connection("s-ttl", record.websocket_id))).toBe(0);
        expect(await client.exists(keys.reverse(record.websocket_id))).toBe(0);
      }
    });

    it.runIf(target.persistent)("should give every index and name registry a TTL, also one that an unregister emptied in a live session", async () => {
      // The second registration is not a new session's (the owner key outlives the connection), so its session index
      // and the global indexes are made again by ZADD without a TTL, which \`PEXPIRE ... GT\` alone would leave so.
      const { registry, direct } = await open({ connectionTtlMs: 5_000 });
      if (!direct) throw new Error("a Redis target gives the suite its client and keys");
      const { client, keys } = direct;
      const record = makeRecord({ session_id: "s-again" });
      const indexKeys = [keys.sessionIndex("s-again"), ...GLOBAL_INDEX_KINDS.map((kind, i) => keys.globalIndex(kind, ["agent", "pillar-1", "gw-1", "tenant-a"][i]!))];
      const nameKeys = GLOBAL_INDEX_KINDS.map((kind) => keys.indexNames(kind));
      const expectTtls = async (when: string) => {
        for (const key of [...indexKeys, ...nameKeys]) {
          const ttl = await client.pttl(key);
          expect([when, key, ttl > 0 && ttl <= 5_000 ? "TTL within the connection TTL" : ttl]).toEqual([when, key, "TTL within the connection TTL"]);
        }
      };
      await registry.register(record);
      await expectTtls("after the first registration");
      expect(await registry.unregister("tenant-a", "s-again", record.websocket_id)).toBe(true);
      expect(await Promise.all(indexKeys.map((key) => client.exists(key))), "every index emptied and gone").toEqual(indexKeys.map(() => 0));
      expect(await client.pttl(keys.sessionTenant("s-again")), "the session keeps its owner").toBeGreaterThan(5_000);
      const again = makeRecord({ session_id: "s-again" });
      await registry.register(again);
      await expectTtls("after a registration in the emptied session");
      await Promise.all([...indexKeys, ...nameKeys].map((key) => client.del(key)));
      expect((await registry.heartbeat([{ session_id: "s-again", websocket_id: again.websocket_id }])).refreshed).toBe(1);
      await expectTtls("after a heartbeat that made the indexes and name registries again");
    });

    it("should refresh the TTL and activity on updateActivity", async () => {
      const clock = manualClock();
      const { registry } = await open({ clock: clock.now, connectionTtlMs: 10_000 });
      const record = makeRecord();
      await registry.register(record);
      clock.advance(8_000);
      expect(await registry.updateActivity("tenant-a", "session-1", record.websocket_id, record.last_activity_at + 8_000)).toBe(true);
      clock.advance(8_000);
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toEqual({
        ...record,
        last_activity_at: record.last_activity_at + 8_000,
      });
      expect(await registry.updateActivity("tenant-b", "session-1", record.websocket_id)).toBe(false);
      clock.advance(2_001);
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toBeNull();
      expect(await registry.updateActivity("tenant-a", "session-1", record.websocket_id)).toBe(false);
    });

    it("should heartbeat many connections at once and report the missing ones", async () => {
      const clock = manualClock();
      const { registry } = await open({ clock: clock.now, connectionTtlMs: 10_000 });
      const records = Array.from({ length: 60 }, (_, i) => makeRecord({ websocket_id: `w-${String(i).padStart(2, "0")}`, session_id: `s-${i % 7}` }));
      for (const record of records) await registry.register(record);
      await registry.unregister("tenant-a", "s-0", "w-00");
      clock.advance(9_000);
      const result = await registry.heartbeat([
        ...records.map((record) => ({ session_id: record.session_id, websocket_id: record.websocket_id })),
        { session_id: "s-1", websocket_id: "w-never" },
      ]);
      expect(result.refreshed).toBe(59);
      expect(result.missing.sort()).toEqual(["w-00", "w-never"]);
      clock.advance(9_000);
      expect((await registry.counts()).total).toBe(59);
      expect(await registry.findConnection("tenant-a", "w-59")).toMatchObject({ session_id: "s-3" });
      expect(await registry.heartbeat([])).toEqual({ refreshed: 0, missing: [] });
      clock.advance(1_001);
      expect((await registry.counts()).total).toBe(0);
      expect((await registry.heartbeat([{ session_id: "s-1", websocket_id: "w-01" }])).missing).toEqual(["w-01"]);
    });

    it("should repoint an existing connection to another instance, keeping its identity", async () => {
      const { registry } = await open();
      const record = makeRecord({ connected_at: 1_000, agent_type: "a" });
      await registry.register(record);
      const result = await registry.repoint({ ...record, instance_id: "gw-2", connected_at: 5_000, agent_type: "ignored", last_activity_at: 6_000 });
      expect(result).toEqual({ existed: true, previousInstanceId: "gw-1", record: { ...record, instance_id: "gw-2", last_activity_at: 6_000 } });
      expect(await registry.getConnection("tenant-a", "session-1", record.websocket_id)).toEqual(result.record);
      expect(await registry.listInstanceConnections("gw-1")).toEqual([]);
      expect(await registry.listInstanceConnections("gw-2")).toEqual([result.record]);
      expect((await registry.counts()).byInstance).toEqual({ "gw-2": 1 });
    });

    it("should register the fallback when repointing a connection that is gone", async () => {
      const { registry } = await open();
      const fallback = makeRecord({ instance_id: "gw-3" });
      expect(await registry.repoint(fallback)).toEqual({ existed: false, record: fallback });
      expect(await registry.findConnection("tenant-a", fallback.websocket_id)).toEqual(fallback);
    });

    it("should keep a session to the tenant that created it", async () => {
      const { registry } = await open();
      const record = makeRecord({ session_id: "s-owned" });
      await registry.register(record);
      expect(await registry.getSessionTenant("s-owned")).toBe("tenant-a");
      expect(await registry.getSessionTenant("s-unknown")).toBeNull();
      const intruder = makeRecord({ session_id: "s-owned", tenant_id: "tenant-b" });
      await expect(registry.register(intruder)).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "tenant" });
      await expect(registry.repoint({ ...record, tenant_id: "tenant-b", instance_id: "gw-9" })).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "tenant" });
      // Nothing of the refused writes is visible, and the owner's record is untouched.
      expect(await registry.findConnection("tenant-b", intruder.websocket_id)).toBeNull();
      expect(await registry.findConnection("tenant-a", intruder.websocket_id)).toBeNull();
      expect(await registry.getConnection("tenant-a", "s-owned", record.websocket_id)).toEqual(record);
      expect(await registry.listInstanceConnections("gw-9")).toEqual([]);
      expect((await registry.counts()).byTenant).toEqual({ "tenant-a": 1 });
      // Another tenant's reads look exactly like absent data.
      expect(await registry.getConnection("tenant-b", "s-owned", record.websocket_id)).toBeNull();
      expect(await registry.findConnection("tenant-b", record.websocket_id)).toBeNull();
      expect(await registry.getSessionIdOf("tenant-b", record.websocket_id)).toBeNull();
      expect(await registry.getSessionConnections("tenant-b", "s-owned")).toEqual([]);
      expect(await registry.getSessionState("tenant-b", "s-owned")).toEqual({});
      expect(await registry.unregister("tenant-b", "s-owned", record.websocket_id)).toBe(false);
      expect(await registry.getConnection("tenant-a", "s-owned", record.websocket_id)).toEqual(record);
    });

    it("should refuse to register or repoint a websocket id that is live in another session, writing nothing", async () => {
      const { registry, direct, namespace } = await open();
      const victim = makeRecord({ session_id: "s-victim", instance_id: "gw-1" });
      await registry.register(victim);
      const before = direct ? await listKeys(direct.client, namespace) : [];
      const intruders = [
        makeRecord({ websocket_id: victim.websocket_id, session_id: "s-intruder", tenant_id: "tenant-b", instance_id: "gw-9" }),
        makeRecord({ websocket_id: victim.websocket_id, session_id: "s-same-tenant", tenant_id: "tenant-a", instance_id: "gw-9" }),
      ];
      for (const intruder of intruders) {
        await expect(registry.register(intruder), intruder.session_id).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "websocket_id" });
        await expect(registry.repoint(intruder), intruder.session_id).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "websocket_id" });
      }
      // The reverse index still names the victim's session and nothing of the refused writes exists.
      expect(await registry.findConnection("tenant-a", victim.websocket_id)).toEqual(victim);
      expect(await registry.getSessionIdOf("tenant-a", victim.websocket_id)).toBe("s-victim");
      expect(await registry.findConnection("tenant-b", victim.websocket_id)).toBeNull();
      expect(await registry.getSessionConnections("tenant-b", "s-intruder")).toEqual([]);
      expect(await registry.getSessionConnections("tenant-a", "s-same-tenant")).toEqual([]);
      expect(await registry.getSessionTenant("s-intruder")).toBeNull();
      expect(await registry.listInstanceConnections("gw-9")).toEqual([]);
      expect(await registry.counts()).toEqual({ total: 1, byInstance: { "gw-1": 1 }, byTenant: { "tenant-a": 1 } });
      if (direct) {
        expect(await listKeys(direct.client, namespace)).toEqual(before);
        expect(await direct.client.get(direct.keys.reverse(victim.websocket_id))).toBe("s-victim");
      }
      // Re-registering in its own session still works, and once the record is gone the id is free again.
      await registry.register({ ...victim, last_activity_at: victim.last_activity_at + 1 });
      expect(await registry.unregister("tenant-a", "s-victim", victim.websocket_id)).toBe(true);
      await registry.register(intruders[0]!);
      expect(await registry.findConnection("tenant-b", victim.websocket_id)).toEqual(intruders[0]);
    });

    it("should register a new id (newId) as any registration: found by every lookup, kept to the session's tenant, refused when live elsewhere", async () => {
      const { registry } = await open();
      const existing = makeRecord({ websocket_id: "w-old", session_id: "s-new", agent_type: "a", pillar: "x" });
      await registry.register(existing);
      // What a gateway writes for every new connection: an id it minted, with newId (the write skips reading an old record).
      const record = makeRecord({ websocket_id: "w-new", session_id: "s-new", agent_type: "b", pillar: "y", instance_id: "gw-2" });
      await registry.register(record, { newId: true });
      expect(await registry.getConnection("tenant-a", "s-new", "w-new")).toEqual(record);
      expect(await registry.findConnection("tenant-a", "w-new")).toEqual(record);
      expect(await registry.getSessionConnections("tenant-a", "s-new")).toEqual([record, existing]);
      expect(await registry.getSessionConnections("tenant-a", "s-new", { agent_type: "b", pillar: "y" })).toEqual([record]);
      expect(await registry.listInstanceConnections("gw-2")).toEqual([record]);
      expect(await registry.counts()).toEqual({ total: 2, byInstance: { "gw-1": 1, "gw-2": 1 }, byTenant: { "tenant-a": 2 } });
      // The tenant check and the reverse index's check still run.
      const intruder = makeRecord({ websocket_id: "w-intruder", session_id: "s-new", tenant_id: "tenant-b" });
      await expect(registry.register(intruder, { newId: true })).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "tenant" });
      const elsewhere = makeRecord({ websocket_id: "w-new", session_id: "s-other" });
      await expect(registry.register(elsewhere, { newId: true })).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "websocket_id" });
      expect(await registry.getSessionConnections("tenant-b", "s-new")).toEqual([]);
      expect(await registry.getSessionConnections("tenant-a", "s-other")).toEqual([]);
      expect((await registry.counts()).total).toBe(2);
    });

    it("should let a websocket id move to another session once its old record expired", async () => {
      const clock = manualClock();
      const { registry } = await open({ clock: clock.now, connectionTtlMs: 10_000 });
      const old = makeRecord({ session_id: "s-old" });
      await registry.register(old);
      clock.advance(10_001);
      const moved = makeRecord({ websocket_id: old.websocket_id, session_id: "s-new", tenant_id: "tenant-b" });
      expect(await registry.repoint(moved)).toEqual({ existed: false, record: moved });
      expect(await registry.findConnection("tenant-b", old.websocket_id)).toEqual(moved);
      await expect(registry.register({ ...old, connected_at: clock.now() })).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN" });
    });

    it.runIf(target.atomicCrossSessionCheck)("should let only one of two racing registrations of one websocket id in two sessions succeed", async () => {
      const { registry } = await open();
      const first = makeRecord({ session_id: "s-race-1" });
      const second = makeRecord({ websocket_id: first.websocket_id, session_id: "s-race-2", tenant_id: "tenant-b" });
      const results = await Promise.allSettled([registry.register(first), registry.register(second)]);
      expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
      const winner = results[0]!.status === "fulfilled" ? first : second;
      expect(await registry.findConnection(winner.tenant_id, first.websocket_id)).toEqual(winner);
      expect((await registry.counts()).total).toBe(1);
    });

    it("should keep every index exact when one batch writes a websocket id twice with other index values", async () => {
      const { registry, direct } = await open();
      const first = makeRecord({ agent_type: "a-old", pillar: "p-old", instance_id: "gw-old" });
      const second = { ...first, agent_type: "a-new", pillar: "p-new", instance_id: "gw-new" };
      await Promise.all([registry.register(first), registry.register(second)]);
      expect(await registry.getConnection("tenant-a", "session-1", first.websocket_id)).toEqual(second);
      expect(await registry.listInstanceConnections("gw-old")).toEqual([]);
      expect(await registry.listInstanceConnections("gw-new")).toEqual([second]);
      expect((await registry.counts()).byInstance).toEqual({ "gw-new": 1 });
      if (direct) {
        const { client, keys } = direct;
        for (const key of [keys.agentTypeIndex("a-old"), keys.pillarIndex("p-old"), keys.instanceIndex("gw-old")]) {
          expect(await client.zrange(key, "0", "-1"), key).toEqual([]);
        }
        for (const key of [keys.agentTypeIndex("a-new"), keys.pillarIndex("p-new"), keys.instanceIndex("gw-new")]) {
          expect(await client.zrange(key, "0", "-1"), key).toEqual([first.websocket_id]);
        }
      }
    });

    it("should count live connections in total, per instance and per tenant", async () => {
      const { registry } = await open();
      await registry.register(makeRecord({ session_id: "s-1", instance_id: "gw-1" }));
      await registry.register(makeRecord({ session_id: "s-1", instance_id: "gw-2" }));
      await registry.register(makeRecord({ session_id: "s-2", instance_id: "gw-2", tenant_id: "tenant-b" }));
      expect(await registry.counts()).toEqual({ total: 3, byInstance: { "gw-1": 1, "gw-2": 2 }, byTenant: { "tenant-a": 2, "tenant-b": 1 } });
    });

    it("should merge session state that outlives the session's connections", async () => {
      const { registry } = await open();
      const record = makeRecord({ session_id: "s-state" });
      await registry.register(record);
      await registry.updateSessionState("tenant-a", "s-state", { step: "1", cart: "x" });
      await registry.updateSessionState("tenant-a", "s-state", { step: "2" });
      await registry.unregister("tenant-a", "s-state", record.websocket_id);
      expect(await registry.getSessionState("tenant-a", "s-state")).toEqual({ step: "2", cart: "x" });
      await expect(registry.updateSessionState("tenant-b", "s-state", { step: "evil" })).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "tenant" });
      expect(await registry.getSessionState("tenant-a", "s-state")).toEqual({ step: "2", cart: "x" });
      // A state write claims an unknown session for its tenant.
      await registry.updateSessionState("tenant-b", "s-new", { a: "b" });
      expect(await registry.getSessionTenant("s-new")).toBe("tenant-b");
      await expect(registry.register(makeRecord({ session_id: "s-new" }))).rejects.toMatchObject({ code: "REGISTRY_ERR_FORBIDDEN", reason: "tenant" });
      expect(await registry.getSessionState("tenant-a", "s-unknown")).toEqual({});
    });

    it("should sweep expired members and keep answering the same", async () => {
      const clock = manualClock();
      const { registry, direct } = await open({ clock: clock.now, connectionTtlMs: 10_000 });
      const gone = makeRecord({ instance_id: "gw-old", agent_type: "old" });
      const kept = makeRecord();
      await registry.register(gone);
      clock.advance(5_000);
      await registry.register(kept);
      clock.advance(6_000);
      expect(await registry.sweep()).toBeGreaterThan(0);
      expect(await registry.sweep()).toBe(0);
      expect(ids(await registry.getSessionConnections("tenant-a", "session-1"))).toEqual([kept.websocket_id]);
      expect(await registry.counts()).toEqual({ total: 1, byInstance: { "gw-1": 1 }, byTenant: { "tenant-a": 1 } });
      if (direct) {
        const { client, keys } = direct;
        expect(await client.zrange(keys.instanceIndex("gw-old"), "0", "-1")).toEqual([]);
        expect(await client.zrange(keys.agentTypeIndex("old"), "0", "-1")).toEqual([]);
        expect(await client.zrange(keys.indexNames("instance"), "0", "-1")).toEqual(["gw-1"]);
      }
    });

    it("should reject bad input with REGISTRY_ERR_INVALID_ARGUMENT and write nothing", async () => {
      const { registry, direct, namespace } = await open();
      const before = direct ? await listKeys(direct.client, namespace) : [];
      const r = makeRecord();
      const cases: [string, () => Promise<unknown>][] = [
        ["empty session id", () => registry.register({ ...r, session_id: "" })],
        ["oversized websocket id", () => registry.register({ ...r, websocket_id: "w".repeat(129) })],
        ["separator in session id", () => registry.register({ ...r, session_id: "a:b" })],
        ["brace in session id", () => registry.register({ ...r, session_id: "{a}" })],
        ["whitespace in tenant id", () => registry.register({ ...r, tenant_id: "t a" })],
        ["control char in agent type", () => registry.register({ ...r, agent_type: "a\u0000" })],
        ["missing pillar", () => registry.register({ ...r, pillar: undefined as unknown as string })],
        ["negative connected_at", () => registry.register({ ...r, connected_at: -1 })],
        ["zero TTL", () => registry.register(r, { ttlMs: 0 })],
        ["negative TTL", () => registry.register(r, { ttlMs: -5 })],
        ["fractional TTL", () => registry.register(r, { ttlMs: 1.5 })],
        ["unknown filter", () => registry.getSessionConnections("tenant-a", "session-1", { instance_id: "gw-1" } as never)],
        ["bad filter value", () => registry.getSessionConnections("tenant-a", "session-1", { agent_type: "a:b" })],
        ["empty tenant on read", () => registry.getConnection("", "session-1", "w")],
        ["bad heartbeat entry", () => registry.heartbeat([{ session_id: "s", websocket_id: "a b" }])],
        ["bad heartbeat TTL", () => registry.heartbeat([{ session_id: "s", websocket_id: "w" }], { ttlMs: 0 })],
        ["bad repoint", () => registry.repoint({ ...r, instance_id: "" })],
        ["bad unregister", () => registry.unregister("tenant-a", "session-1", "")],
        ["bad ifInstanceId", () => registry.unregister("tenant-a", "session-1", "w", { ifInstanceId: "{x}" })],
        ["bad activity time", () => registry.updateActivity("tenant-a", "session-1", "w", Number.NaN)],
        ["bad state value", () => registry.updateSessionState("tenant-a", "session-1", { a: 1 as unknown as string })],
        ["bad instance id", () => registry.listInstanceConnections("gw 1")],
      ];
      for (const [name, call] of cases) {
        await expect(call(), name).rejects.toMatchObject({ code: "REGISTRY_ERR_INVALID_ARGUMENT" });
      }
      if (direct) expect(await listKeys(direct.client, namespace)).toEqual(before);
      expect((await registry.counts()).total).toBe(0);
    });

    it("should reject every call after close with REGISTRY_ERR_CLOSED, and close twice", async () => {
      const { registry } = await open();
      await registry.close();
      await registry.close();
      await expect(registry.register(makeRecord())).rejects.toMatchObject({ code: "REGISTRY_ERR_CLOSED" });
      await expect(registry.getConnection("tenant-a", "s", "w")).rejects.toMatchObject({ code: "REGISTRY_ERR_CLOSED" });
      await expect(registry.counts()).rejects.toMatchObject({ code: "REGISTRY_ERR_CLOSED" });
    });

    it(`should ${target.shared ? "share" : "not share"} connections between two registry instances`, async () => {
      const first = await open();
      const second = await open({ namespace: first.namespace });
      const record = makeRecord();
      await first.registry.register(record);
      expect(await second.registry.getConnection("tenant-a", "session-1", record.websocket_id)).toEqual(target.shared ? record : null);
      expect(await second.registry.findConnection("tenant-a", record.websocket_id)).toEqual(target.shared ? record : null);
      expect((await second.registry.counts()).total).toBe(target.shared ? 1 : 0);
    });

    it(`should ${target.persistent ? "keep" : "lose"} connections across a new registry instance`, async () => {
      const first = await open();
      const record = makeRecord();
      await first.registry.register(record);
      await first.registry.updateSessionState("tenant-a", "session-1", { k: "v" });
      await first.registry.close();
      const next = await open({ namespace: first.namespace });
      expect(await next.registry.getSessionConnections("tenant-a", "session-1")).toEqual(target.persistent ? [record] : []);
      expect(await next.registry.getSessionState("tenant-a", "session-1")).toEqual(target.persistent ? { k: "v" } : {});
    });
  });
}

/** A fresh namespace for one registry. */
export function freshNamespace(): string {
  return `t${randomUUID().slice(0, 8)}`;
}
