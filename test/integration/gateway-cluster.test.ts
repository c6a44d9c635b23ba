import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import type { StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { createRedisClient, waitForRedisReady } from "../../src/registry/redis-client.js";
import { startGateway, token, type TestGateway } from "../helpers/gateway.js";
import { connectClient, type TestClient } from "../helpers/wire-client.js";
import { startSuiteRedis } from "../helpers/redis.js";

const MANY_CLIENTS = 500;
const ENV = { CONNECTION_TTL_MS: "10000", HEARTBEAT_INTERVAL_MS: "2000" };

let redis: StartedRedisServer;
let gateways: TestGateway[] = [];
let registry: RedisConnectionRegistry;

beforeAll(async () => {
  redis = await startSuiteRedis();
  gateways = await Promise.all([1, 2, 3].map((i) => startGateway({ redisUrl: redis.url, instanceId: `gw-${i}`, env: ENV }, true)));
  registry = RedisConnectionRegistry.fromUrl(redis.url);
});

afterAll(async () => {
  await registry?.close();
  await Promise.allSettled(gateways.map((gateway) => gateway.stop()));
  await redis?.stop();
});

let sessionSeq = 0;
const newSession = () => `cluster-${process.pid}-${++sessionSeq}`;
const auth = (tenant: string) => ({ authorization: `Bearer ${token(tenant)}` });
const ids = (records: Array<{ websocket_id: string }>) => records.map((record) => record.websocket_id).sort();

describe("gateway cluster (3 processes, one Redis)", () => {
  it("should show every connection, with equal fields, from every instance over HTTP", async () => {
    const session = newSession();
    const clients = await Promise.all(gateways.map((gateway, i) => connectClient(gateway, token("t1"), { session_id: session, agent_type: `agent-${i}`, pillar: "p" })));
    expect(clients.map((client) => client.welcome.instance_id)).toEqual(["gw-1", "gw-2", "gw-3"]);
    const views = await Promise.all(
      gateways.map(async (gateway) => (await (await gateway.fetch(`/v1/sessions/${session}/connections`, { headers: auth("t1") })).json()) as { connections: unknown[] }),
    );
    expect(views[0]!.connections).toHaveLength(3);
    expect(views[1]).toEqual(views[0]);
    expect(views[2]).toEqual(views[0]);
    for (const gateway of gateways) {
      for (const client of clients) {
        const res = await gateway.fetch(`/v1/connections/${client.websocketId}`, { headers: auth("t1") });
        expect(await res.json()).toMatchObject({ websocket_id: client.websocketId, instance_id: client.welcome.instance_id, session_id: session });
      }
    }
    const filtered = (await (await gateways[1]!.fetch(`/v1/sessions/${session}/connections?agent_type=agent-2`, { headers: auth("t1") })).json()) as { connections: Array<{ websocket_id: string }> };
    expect(ids(filtered.connections)).toEqual([clients[2]!.websocketId]);
  });

  it("should route across instances over WebSocket and HTTP and acknowledge confirmed deliveries only", async () => {
    const session = newSession();
    const sender = await connectClient(gateways[0]!, token("t1"), { session_id: session, agent_type: "user", pillar: "p" });
    const onTwo = await connectClient(gateways[1]!, token("t1"), { session_id: session, agent_type: "agent", pillar: "p" });
    const onThree = await connectClient(gateways[2]!, token("t1"), { session_id: session, agent_type: "agent", pillar: "p" });
    const ack = await sender.request({ type: "route", id: "x", session_id: session, to: { agent_type: "agent" }, payload: { q: 1 } });
    expect(ack).toEqual({ type: "ack", id: "x", delivered: 2 });
    for (const target of [onTwo, onThree]) {
      expect(await target.next((frame) => frame.type === "message")).toEqual({ type: "message", id: "x", from: sender.websocketId, session_id: session, payload: { q: 1 } });
    }
    expect(await onThree.request({ type: "route", id: "y", session_id: session, to: { websocket_id: sender.websocketId }, payload: "back" })).toMatchObject({ delivered: 1 });
    expect(await sender.next((frame) => frame.type === "message")).toMatchObject({ id: "y", from: onThree.websocketId });
    const posted = await gateways[2]!.fetch(`/v1/sessions/${session}/messages`, { method: "POST", headers: auth("t1"), body: JSON.stringify({ to: {}, payload: "to all" }) });
    expect(await posted.json()).toMatchObject({ delivered: 3 });
    expect(sender.frames.filter((frame) => frame.id === "x")).toEqual([expect.objectContaining({ type: "ack" })]);
    expect(await gateways[0]!.metric("traffic_cop_routes_total", { path: "remote" })).toBeGreaterThanOrEqual(2);
  });

  it("should hand a deliver request that reaches its holder twice to its sockets once (a PUBLISH its sender's client sent again)", async () => {
    const session = newSession();
    const target = await connectClient(gateways[1]!, token("t1"), { session_id: session, agent_type: "agent", pillar: "p" });
    // The test stands in for a sender instance: it listens on its channel for the holder's answers.
    const subscriber = createRedisClient(redis.url);
    onTestFinished(() => subscriber.disconnect());
    await waitForRedisReady(subscriber);
    const answers: unknown[] = [];
    subscriber.on("message", (_channel: string, text: string) => answers.push(JSON.parse(text)));
    await subscriber.subscribe(registry.keys.instanceChannel("gw-sender"));
    const request = (r: string, id: string) =>
      JSON.stringify({ t: "deliver", r, from: "gw-sender", ids: [target.websocketId], frame: JSON.stringify({ type: "message", id, from: "w-sender", session_id: session, payload: id }) });
    const duplicatesBefore = await gateways[1]!.metric("traffic_cop_bus_duplicates_total");
    const channel = registry.keys.instanceChannel("gw-2");
    for (const text of [request("gw-sender:boot:1", "m1"), request("gw-sender:boot:1", "m1"), request("gw-sender:boot:2", "m2")]) {
      expect(await registry.client.publish(channel, text)).toBe(1);
    }
    // One subscriber connection keeps the publishing order: once m2 is in, a second m1 would be too.
    await target.next((frame) => frame.type === "message" && frame.id === "m2");
    expect(target.frames.filter((frame) => frame.type === "message").map((frame) => frame.id)).toEqual(["m1", "m2"]);
    await vi.waitFor(() =>
      expect(answers).toEqual([
        { t: "delivered", r: "gw-sender:boot:1", n: 1 },
        { t: "delivered", r: "gw-sender:boot:2", n: 1 },
      ]),
    );
    expect(await gateways[1]!.metric("traffic_cop_bus_duplicates_total")).toBe(duplicatesBefore + 1);
  });

  it("should remove a record as soon as its client disconnects", async () => {
    const session = newSession();
    const clients = await Promise.all(gateways.map((gateway) => connectClient(gateway, token("t1"), { session_id: session, agent_type: "a", pillar: "p" })));
    expect(await registry.getSessionConnections("t1", session)).toHaveLength(3);
    await clients[0]!.close();
    clients[1]!.terminate();
    await expect.poll(async () => ids(await registry.getSessionConnections("t1", session))).toEqual([clients[2]!.websocketId]);
    await clients[2]!.close();
    await expect.poll(() => registry.getSessionConnections("t1", session)).toEqual([]);
    for (const client of clients) expect(await registry.findConnection("t1", client.websocketId)).toBeNull();
    const res = await gateways[0]!.fetch(`/v1/sessions/${session}/connections`, { headers: auth("t1") });
    expect(res.status).toBe(404);
  });

  it("should resume on another instance with the same websocket_id, re-pointing the record and closing the old socket", async () => {
    const session = newSession();
    const first = await connectClient(gateways[0]!, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const peer = await connectClient(gateways[2]!, token("t1"), { session_id: session, agent_type: "b", pillar: "p" });
    const resumed = await connectClient(gateways[1]!, token("t1"), { session_id: session, agent_type: "a", pillar: "p", websocket_id: first.websocketId });
    expect(resumed.welcome).toMatchObject({ websocket_id: first.websocketId, instance_id: "gw-2", resumed: true });
    expect(await first.closed).toMatchObject({ code: 4000, reason: "RESUMED_ELSEWHERE" });
    // The old instance saw its socket close, but the record now belongs to gw-2 and stays.
    await expect.poll(() => gateways[0]!.metric("traffic_cop_connections", { tenant: "t1" })).toBe(0);
    expect(await registry.getConnection("t1", session, first.websocketId)).toMatchObject({ instance_id: "gw-2" });
    expect(await peer.request({ type: "route", id: 1, session_id: session, to: { websocket_id: first.websocketId }, payload: "hi" })).toMatchObject({ delivered: 1 });
    expect(await resumed.next((frame) => frame.type === "message")).toMatchObject({ payload: "hi" });
    const fresh = await connectClient(gateways[2]!, token("t1"), { session_id: session, agent_type: "a", pillar: "p", websocket_id: "never-existed" });
    expect(fresh.welcome).toMatchObject({ websocket_id: "never-existed", resumed: false });
  });

  it(`should hold ${MANY_CLIENTS} users at once across the instances and fan a message out to all of them`, { timeout: 60_000 }, async () => {
    const session = newSession();
    const clients: TestClient[] = [];
    for (let offset = 0; offset < MANY_CLIENTS; offset += 100) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(100, MANY_CLIENTS - offset) }, (_, i) =>
            connectClient(gateways[(offset + i) % 3]!, token("many"), { session_id: session, agent_type: `a${(offset + i) % 5}`, pillar: "p" }),
          ),
        )),
      );
    }
    expect(new Set(clients.map((client) => client.websocketId)).size).toBe(MANY_CLIENTS);
    const records = await registry.getSessionConnections("many", session);
    expect(records).toHaveLength(MANY_CLIENTS);
    expect(new Set(records.map((record) => record.instance_id))).toEqual(new Set(["gw-1", "gw-2", "gw-3"]));
    const ack = await clients[0]!.request({ type: "route", id: "fan", session_id: session, to: {}, payload: "all" }, 20_000);
    expect(ack).toMatchObject({ type: "ack", delivered: MANY_CLIENTS - 1 });
    for (const client of clients.slice(1)) await client.next((frame) => frame.id === "fan", 10_000);
    await Promise.all(clients.map((client) => client.close()));
    await expect.poll(() => registry.getSessionConnections("many", session), { timeout: 15_000 }).toEqual([]);
  });
});
