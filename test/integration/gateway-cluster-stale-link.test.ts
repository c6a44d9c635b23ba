/**
 * Redis Cluster connections gone silent without a reset (a NAT in front of the cluster that forgot its flows): the
 * gateway's ClusterLinkWatchdog (src/registry/cluster-link-watchdog.ts) must drop every silent node connection and
 * the subscription's, so that the gateway serves again within the bound of gateway-stale-redis-link.test.ts; the
 * same gateway without it (failpoint `no-link-watchdog`) is still unavailable after that bound. Each node sits
 * behind a relay of its own (test/helpers/silencing-relay.ts), reached through REDIS_NAT_MAP.
 */
import type { Cluster } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { ClusterLinkWatchdog } from "../../src/registry/cluster-link-watchdog.js";
import { createRedisClient } from "../../src/registry/redis-client.js";
import { startGateway, token } from "../helpers/gateway.js";
import { useRedisClient, useRedisCluster } from "../helpers/redis.js";
import { useSilencingRelay } from "../helpers/silencing-relay.js";
import { statusesUntilOk } from "../helpers/timing.js";
import { connectClient } from "../helpers/wire-client.js";

/** As in gateway-stale-redis-link.test.ts: silent for 3 command timeouts (3 s), looked at every second, reconnected after a 500 ms backoff. */
const RECOVERY_BOUND_MS = 8_000;
const auth = { authorization: `Bearer ${token("t1")}` };

describe("ClusterLinkWatchdog on a Redis Cluster behind relays", () => {
  it("should drop the subscriber's silent connection alone and subscribe again elsewhere, the node connections left alone", { timeout: 30_000 }, async () => {
    const cluster = await useRedisCluster();
    const relays = await Promise.all(cluster.nodes.map((node) => useSilencingRelay({ host: node.host, port: node.port })));
    const natMap = Object.fromEntries(cluster.nodes.map((node, i) => [`${node.host}:${node.port}`, { host: "127.0.0.1", port: relays[i]!.port }]));
    const subscriber = createRedisClient(relays.map((r) => `redis://${r.listen}`).join(","), { cluster: true, natMap, commandTimeoutMs: 200, autoPipelining: false }) as Cluster;
    subscriber.on("error", () => undefined);
    const silences: number[] = [];
    const watchdog = new ClusterLinkWatchdog(subscriber, { silenceTimeoutMs: 600, checkIntervalMs: 200, onSilent: (ms) => silences.push(ms) }).start();
    const publisher = useRedisClient({ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port });
    onTestFinished(() => {
      watchdog.stop();
      subscriber.disconnect();
    });
    const received: string[] = [];
    subscriber.on("message", (_channel: string, text: string) => received.push(text));
    await expect.poll(() => subscriber.status).toBe("ready");
    await subscriber.subscribe("ch");
    await publisher.publish("ch", "before");
    await expect.poll(() => received).toContain("before");

    // Only the connection the subscription is on: a NAT that forgot that one flow.
    const instance = () => (subscriber as unknown as { subscriber: { getInstance(): { stream?: { localPort?: number } } | null } }).subscriber.getInstance();
    const subscribedFrom = instance()!.stream!.localPort!;
    expect(relays.reduce((sum, relay) => sum + relay.silenceOpen((port) => port === subscribedFrom), 0)).toBe(1);
    await publisher.publish("ch", "lost");
    // Dropped after 600 ms of silence; then subscribed again through a new connection, which hears what follows.
    await expect.poll(() => silences.length, { timeout: 5_000 }).toBe(1);
    await expect.poll(async () => {
      await publisher.publish("ch", "after");
      return received.includes("after");
    }, { timeout: 5_000, interval: 200 }).toBe(true);
    expect(instance()!.stream!.localPort).not.toBe(subscribedFrom);
    expect(received).not.toContain("lost");
  });
});

describe("a Redis Cluster's connections gone silent", () => {
  for (const [name, defects, recovers] of [
    ["should serve again within the bound, every node and the subscriber reached through new connections", undefined, true],
    ["should stay unavailable past the bound without the watchdog (failpoint no-link-watchdog)", "no-link-watchdog", false],
  ] as const) {
    it(`gateway on Redis Cluster: ${name}`, { timeout: 60_000 }, async () => {
      // Every node behind a relay of its own, which the gateway reaches through REDIS_NAT_MAP (nodes announce
      // themselves, and a MOVED names a node): a NAT in front of the cluster that then forgets every flow.
      const cluster = await useRedisCluster();
      const relays = await Promise.all(cluster.nodes.map((node) => useSilencingRelay({ host: node.host, port: node.port })));
      const natMap = cluster.nodes.map((node, i) => `${node.host}:${node.port}=${relays[i]!.listen}`).join(",");
      const env = { REDIS_CLUSTER: "1", REDIS_NAT_MAP: natMap, CONNECTION_TTL_MS: "30000", HEARTBEAT_INTERVAL_MS: "1000", ...(defects ? { TRAFFIC_COP_DEFECTS: defects } : {}) };
      const gateway = await startGateway({ redisUrl: relays.map((r) => `redis://${r.listen}`).join(","), instanceId: "gwc-1", env });
      const client = await connectClient(gateway, token("t1"), { session_id: "s", agent_type: "a", pillar: "p" });
      const peer = await connectClient(gateway, token("t1"), { session_id: "s", agent_type: "b", pillar: "p" });
      const lookup = async () => (await gateway.fetch(`/v1/connections/${client.websocketId}`, { headers: auth })).status;
      expect(await lookup()).toBe(200);

      const silenced = relays.reduce((sum, relay) => sum + relay.silenceOpen(), 0);
      // The command client's connections to the three masters, and the subscriber's.
      expect(silenced).toBeGreaterThanOrEqual(4);
      const accepted = relays.map((relay) => relay.accepted);
      const silencedAt = Date.now();
      await expect.poll(lookup, { timeout: 3_000 }).toBe(503);
      const statuses = await statusesUntilOk(lookup, silencedAt, RECOVERY_BOUND_MS);
      if (recovers) {
        expect(statuses.at(-1), `lookups after the silence: ${statuses.join(" ")}`).toBe(200);
        await expect.poll(async () => (await gateway.fetch("/readyz")).status, { timeout: RECOVERY_BOUND_MS }).toBe(200);
        const silent = new Set(gateway.events().filter((e) => e.event === "redis_link_silent").map((e) => e.connection));
        expect([...silent].sort()).toEqual(["commands", "subscriber"]);
        expect(relays.some((relay, i) => relay.accepted > accepted[i]!)).toBe(true);
        // The sockets stayed open throughout, and a route between them reaches its target through the subscriber's new connection.
        expect(await peer.request({ type: "route", id: 1, session_id: "s", to: { websocket_id: client.websocketId }, payload: "back" }, 5_000)).toMatchObject({ type: "ack", delivered: 1 });
        expect(await client.next((frame) => frame.type === "message" && frame.id === 1)).toMatchObject({ payload: "back" });
      } else {
        expect(statuses.every((status) => status === 503), `lookups after the silence: ${statuses.join(" ")}`).toBe(true);
        expect(await gateway.metric("traffic_cop_redis_silent_links_total")).toBe(0);
      }
    });
  }
});
