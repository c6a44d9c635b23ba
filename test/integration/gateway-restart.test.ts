import { describe, expect, it } from "vitest";
import { RegistryKeys } from "../../src/registry/keys.js";
import { startGateway, token, type TestGateway } from "../helpers/gateway.js";
import { HeldClients } from "../helpers/held-clients.js";
import { connectClient, expectRefused, type TestClient } from "../helpers/wire-client.js";
import { useRedisClient, useRedisServer, useRegistry } from "../helpers/redis.js";

const CONNECTION_TTL_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const DRAIN_TIMEOUT_MS = 3_000;
/** Liveness TTL (TTL / 3) plus one scan period (liveness TTL / 3) plus scheduling slack: docs/protocol.md's bound. */
const REAP_BOUND_MS = CONNECTION_TTL_MS / 3 + CONNECTION_TTL_MS / 9 + 1_000;
const ENV = {
  CONNECTION_TTL_MS: String(CONNECTION_TTL_MS),
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
  DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
};
const keys = new RegistryKeys();

async function setup(n: number) {
  const redis = await useRedisServer();
  const gateways = await Promise.all(Array.from({ length: n }, (_, i) => startGateway({ redisUrl: redis.url, instanceId: `gw-${i + 1}`, env: ENV })));
  const registry = await useRegistry(redis.url);
  const raw = useRedisClient(redis, { lazyConnect: false });
  return { redis, gateways, registry, raw };
}

/** A client that follows the drain protocol: on `reconnect`, it resumes on `next` with its websocket_id, then closes the old socket. */
function followDrain(client: TestClient, next: TestGateway, tenant: string, query: { session_id: string; agent_type: string; pillar: string }): Promise<TestClient> {
  return (async () => {
    const notice = await client.next((frame) => frame.type === "reconnect", 10_000);
    expect(notice).toMatchObject({ reason: "draining", retry_after_ms: expect.any(Number) });
    await new Promise((resolve) => setTimeout(resolve, Number(notice.retry_after_ms)));
    const moved = await connectClient(next, token(tenant), { ...query, websocket_id: client.websocketId });
    await client.close();
    return moved;
  })();
}

describe("gateway restarts", () => {
  it("should drain on SIGTERM: readyz 503, reconnect notice, resume elsewhere, 1012 for the rest, exit 0, nothing left in Redis", { timeout: 30_000 }, async () => {
    const { gateways, registry, raw } = await setup(2);
    const [draining, survivor] = gateways as [TestGateway, TestGateway];
    const session = "drain-session";
    const query = (i: number) => ({ session_id: session, agent_type: `a${i}`, pillar: "p" });
    const movers = await Promise.all([0, 1, 2, 3, 4].map((i) => connectClient(draining, token("t1"), query(i))));
    const stayer = await connectClient(draining, token("t1"), { session_id: session, agent_type: "stayer", pillar: "p" });
    const state = await movers[0]!.request({ type: "session_state", id: 1, set: { cart: "3 items" } });
    expect(state).toMatchObject({ state: { cart: "3 items" } });
    const moved = movers.map((client, i) => followDrain(client, survivor, "t1", query(i)));
    const signalledAt = Date.now();
    const exit = draining.sigterm();
    await expect.poll(async () => (await draining.fetch("/readyz").catch(() => ({ status: 0 }))).status).toBe(503);
    const late = await expectRefused(draining, token("t1"), query(9));
    expect(late.status).toBe(503);
    expect(JSON.parse(late.body)).toMatchObject({ error: { code: "DRAINING" } });
    const resumed = await Promise.all(moved);
    for (const [i, client] of resumed.entries()) {
      expect(client.welcome).toMatchObject({ websocket_id: movers[i]!.websocketId, instance_id: "gw-2", resumed: true });
    }
    expect(await stayer.closed).toMatchObject({ code: 1012 });
    expect(await exit).toEqual({ code: 0, signal: null });
    // The stayer never moves, so the drain uses its whole budget, and no more (plus process exit).
    expect(Date.now() - signalledAt).toBeLessThan(DRAIN_TIMEOUT_MS + 1_000);
    const records = await registry.getSessionConnections("t1", session);
    expect(records.map((record) => record.websocket_id).sort()).toEqual(movers.map((client) => client.websocketId).sort());
    expect(records.every((record) => record.instance_id === "gw-2")).toBe(true);
    expect(await registry.listInstanceConnections("gw-1")).toEqual([]);
    expect(await raw.exists(keys.instanceAlive("gw-1"))).toBe(0);
    expect(await raw.zscore(keys.aliveInstances(), "gw-1")).toBeNull();
    expect(await raw.zcard(keys.instanceIndex("gw-1"))).toBe(0);
    expect(await raw.exists(keys.connection(session, stayer.websocketId), keys.reverse(stayer.websocketId))).toBe(0);
    expect(await resumed[0]!.request({ type: "session_state", id: 2 })).toMatchObject({ state: { cart: "3 items" } });
    expect(draining.events().map((event) => event.event)).toEqual(expect.arrayContaining(["listening", "draining", "drained"]));
  });

  it("should reap a kill -9'd instance's records within the documented bound, faster than the record TTL", { timeout: 30_000 }, async () => {
    const { gateways, registry, raw } = await setup(3);
    const [victim] = gateways as [TestGateway, TestGateway, TestGateway];
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => connectClient(victim, token("t1"), { session_id: `kill-${i % 4}`, agent_type: "a", pillar: "p" })));
    expect(await registry.listInstanceConnections("gw-1")).toHaveLength(20);
    const killedAt = Date.now();
    await victim.kill9();
    await expect.poll(() => registry.listInstanceConnections("gw-1"), { timeout: CONNECTION_TTL_MS, interval: 50 }).toEqual([]);
    const elapsed = Date.now() - killedAt;
    expect(elapsed).toBeLessThan(REAP_BOUND_MS);
    expect(elapsed).toBeLessThan(CONNECTION_TTL_MS);
    for (const client of clients) expect(await raw.exists(keys.connection(client.welcome.session_id, client.websocketId))).toBe(0);
    const reaped = (await gateways[1]!.metric("traffic_cop_reaped_records_total")) + (await gateways[2]!.metric("traffic_cop_reaped_records_total"));
    expect(reaped).toBe(20);
    const reapers = (await gateways[1]!.metric("traffic_cop_reaped_instances_total")) + (await gateways[2]!.metric("traffic_cop_reaped_instances_total"));
    expect(reapers).toBe(1);
  });

  it("should work after a restart: kill -9, restart on the same port, clients resume with their ids and session state", { timeout: 30_000 }, async () => {
    const { redis, gateways, registry } = await setup(2);
    const [victim, other] = gateways as [TestGateway, TestGateway];
    const session = "restart-session";
    const client = await connectClient(victim, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const peer = await connectClient(other, token("t1"), { session_id: session, agent_type: "b", pillar: "p" });
    await client.request({ type: "session_state", id: 1, set: { step: "7" } });
    const port = victim.port;
    await victim.kill9();
    expect((await client.closed).code).toBe(1006);
    const restarted = await startGateway({ redisUrl: redis.url, instanceId: "gw-1", port, env: ENV });
    expect(restarted.port).toBe(port);
    const back = await connectClient(restarted, token("t1"), { session_id: session, agent_type: "a", pillar: "p", websocket_id: client.websocketId });
    expect(back.welcome).toMatchObject({ websocket_id: client.websocketId, instance_id: "gw-1" });
    expect(await back.request({ type: "session_state", id: 2 })).toMatchObject({ state: { step: "7" } });
    expect(await peer.request({ type: "route", id: "r", session_id: session, to: { websocket_id: client.websocketId }, payload: "again" })).toMatchObject({ delivered: 1 });
    expect(await back.next((frame) => frame.type === "message")).toMatchObject({ payload: "again" });
    const records = await registry.getSessionConnections("t1", session);
    expect(records.map((record) => [record.websocket_id, record.instance_id]).sort()).toEqual(
      [[client.websocketId, "gw-1"], [peer.websocketId, "gw-2"]].sort(),
    );
  });

  it("should terminate a half-open socket that stops answering pings and remove its record", { timeout: 20_000 }, async () => {
    const { gateways, registry } = await setup(1);
    // Both held in a process of their own, where the close is timed too (held-clients.ts): a stall of the test process
    // past a heartbeat had the gateway terminate the healthy client as well, and delayed the silent one's close event.
    const held = await HeldClients.start();
    const [silent] = await held.connectMany(gateways[0]!, token("t1"), () => "half-open", 1, { autoPong: false });
    const [healthy] = await held.connectMany(gateways[0]!, token("t1"), () => "half-open", 1, { agentType: "b" });
    const openedAt = Date.now();
    await expect.poll(async () => (await held.closed()).length, { timeout: 2 * HEARTBEAT_INTERVAL_MS + 5_000 }).toBeGreaterThan(0);
    const closed = await held.closed();
    expect(closed).toEqual([{ websocket_id: silent, code: 1006, t: expect.any(Number) }]);
    expect(closed[0]!.t - openedAt).toBeLessThan(2 * HEARTBEAT_INTERVAL_MS + 1_000);
    await expect.poll(() => registry.getConnection("t1", "half-open", silent!)).toBeNull();
    expect(await gateways[0]!.metric("traffic_cop_half_open_terminated_total")).toBe(1);
    expect(await held.closed()).toHaveLength(1);
    expect(await registry.getConnection("t1", "half-open", healthy!)).not.toBeNull();
  });
});
