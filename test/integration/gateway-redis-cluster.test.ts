import { describe, expect, it } from "vitest";
import { startGateway, token } from "../helpers/gateway.js";
import { connectClient } from "../helpers/wire-client.js";
import { useRedisCluster } from "../helpers/redis.js";

describe("gateway on Redis Cluster (REDIS_CLUSTER=1)", () => {
  it("should register, look up and route across instances through a 3-master cluster", { timeout: 60_000 }, async () => {
    const cluster = await useRedisCluster();
    const env = { REDIS_CLUSTER: "1", CONNECTION_TTL_MS: "10000", HEARTBEAT_INTERVAL_MS: "1000" };
    const [one, two] = await Promise.all([1, 2].map((i) => startGateway({ redisUrl: cluster.url, instanceId: `gwc-${i}`, env })));
    const session = "cluster-session";
    const a = await connectClient(one!, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const b = await connectClient(two!, token("t1"), { session_id: session, agent_type: "b", pillar: "p" });
    const res = await one!.fetch(`/v1/connections/${b.websocketId}`, { headers: { authorization: `Bearer ${token("t1")}` } });
    expect(await res.json()).toMatchObject({ websocket_id: b.websocketId, instance_id: "gwc-2" });
    // Several routes: PUBLISH reaches whichever node the subscriber sits on, and the ack must still count it.
    for (let i = 0; i < 5; i++) {
      expect(await a.request({ type: "route", id: i, session_id: session, to: { agent_type: "b" }, payload: i })).toEqual({ type: "ack", id: i, delivered: 1 });
      expect(await b.next((frame) => frame.type === "message" && frame.id === i)).toMatchObject({ payload: i });
    }
    const resumed = await connectClient(two!, token("t1"), { session_id: session, agent_type: "a", pillar: "p", websocket_id: a.websocketId });
    expect(resumed.welcome).toMatchObject({ websocket_id: a.websocketId, instance_id: "gwc-2", resumed: true });
    expect((await a.closed).code).toBe(4000);
  });
});
