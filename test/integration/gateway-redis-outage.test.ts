import { describe, expect, it } from "vitest";
import { redisCommand, type StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { startGateway, token } from "../helpers/gateway.js";
import { connectClient } from "../helpers/wire-client.js";
import { useRedisServer, useRegistry } from "../helpers/redis.js";
import { timed } from "../helpers/timing.js";

const ENV = { CONNECTION_TTL_MS: "6000", HEARTBEAT_INTERVAL_MS: "1000" };
/** Lookups must fail within the command timeout plus scheduling slack, never hang. */
const FAIL_FAST_MS = 2_500;
const auth = (tenant: string) => ({ authorization: `Bearer ${token(tenant)}` });

describe("gateway during a Redis outage", () => {
  it("should keep sockets open, deliver locally, fail lookups fast, and reconcile every connection into an empty Redis", { timeout: 45_000 }, async () => {
    const redis = await useRedisServer();
    const [one, two] = await Promise.all([1, 2].map((i) => startGateway({ redisUrl: redis.url, instanceId: `gw-${i}`, env: ENV })));
    const session = "outage";
    const a = await connectClient(one!, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const b = await connectClient(one!, token("t1"), { session_id: session, agent_type: "b", pillar: "p" });
    const c = await connectClient(two!, token("t1"), { session_id: session, agent_type: "c", pillar: "p" });
    await a.request({ type: "session_state", id: 0, set: { k: "v" } });

    await redis.kill();
    await expect.poll(async () => (await one!.fetch("/readyz")).status).toBe(503);
    await expect.poll(async () => (await two!.fetch("/readyz")).status).toBe(503);

    expect(await a.request({ type: "ping", id: 1 })).toMatchObject({ type: "pong" });
    expect(await a.request({ type: "route", id: 2, session_id: session, to: { websocket_id: b.websocketId }, payload: "local" })).toMatchObject({ type: "ack", delivered: 1 });
    expect(await b.next((frame) => frame.id === 2)).toMatchObject({ type: "message", payload: "local" });
    expect(await a.request({ type: "route", id: 3, session_id: session, to: {}, payload: "partial" })).toMatchObject({ type: "ack", delivered: 1, partial: true });

    const remote = await timed(c.request({ type: "route", id: 4, session_id: session, to: { websocket_id: a.websocketId }, payload: "x" }));
    expect(remote.value).toMatchObject({ type: "error", code: "REGISTRY_UNAVAILABLE" });
    expect(remote.ms).toBeLessThan(FAIL_FAST_MS);
    const lookup = await timed(two!.fetch(`/v1/sessions/${session}/connections`, { headers: auth("t1") }));
    expect(lookup.value.status).toBe(503);
    expect(await lookup.value.json()).toMatchObject({ error: { code: "REGISTRY_UNAVAILABLE" } });
    expect(lookup.ms).toBeLessThan(FAIL_FAST_MS);
    const refused = await connectClient(two!, token("t1"), { session_id: session, agent_type: "d", pillar: "p" }).catch((error: { refused?: { status: number } }) => error.refused);
    expect(refused).toMatchObject({ status: 503 });
    expect([a, b, c].every((client) => client.ws.readyState === client.ws.OPEN)).toBe(true);

    // Same port, empty data: everything the gateways held must come back by reconciliation.
    const restarted: StartedRedisServer = await useRedisServer({ port: redis.port });
    const registry = await useRegistry(restarted.url);
    await expect.poll(async () => (await one!.fetch("/readyz")).status, { timeout: 10_000 }).toBe(200);
    await expect.poll(async () => (await registry.getSessionConnections("t1", session)).map((record) => record.websocket_id).sort(), { timeout: 10_000 }).toEqual(
      [a, b, c].map((client) => client.websocketId).sort(),
    );
    expect(await one!.metric("traffic_cop_reconciliations_total")).toBe(2);
    expect(await two!.metric("traffic_cop_reconciliations_total")).toBe(1);
    expect(await c.request({ type: "route", id: 5, session_id: session, to: { websocket_id: a.websocketId }, payload: "healed" }, 10_000)).toMatchObject({ type: "ack", delivered: 1 });
    expect(await a.next((frame) => frame.id === 5)).toMatchObject({ payload: "healed" });
  });

  it("should fail lookups fast while Redis is too slow to answer, and recover by itself", { timeout: 30_000 }, async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-slow", env: ENV });
    const client = await connectClient(gateway, token("t1"), { session_id: "slow", agent_type: "a", pillar: "p" });
    // CLIENT PAUSE holds every client's commands: each waits longer than the gateway's command timeout.
    expect(await redisCommand(redis.host, redis.port, "CLIENT PAUSE 3000 ALL")).toContain("+OK");
    const lookup = await timed(gateway.fetch(`/v1/connections/${client.websocketId}`, { headers: auth("t1") }));
    expect(lookup.value.status).toBe(503);
    expect(lookup.ms).toBeLessThan(FAIL_FAST_MS);
    const route = await timed(client.request({ type: "route", id: 1, session_id: "slow", to: {}, payload: 1 }));
    expect(route.value).toMatchObject({ type: "error", code: "REGISTRY_UNAVAILABLE" });
    expect(route.ms).toBeLessThan(FAIL_FAST_MS);
    await expect.poll(async () => (await gateway.fetch(`/v1/connections/${client.websocketId}`, { headers: auth("t1") })).status, { timeout: 10_000 }).toBe(200);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });
});
