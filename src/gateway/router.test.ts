import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { WebSocket } from "ws";
import { useRedisServer } from "../../test/helpers/redis.js";
import { useSocketPairs, type SocketPair } from "../../test/helpers/socket-pair.js";
import type { ConnectionRecord, ConnectionRegistry } from "../registry/connection-registry.js";
import { MemoryConnectionRegistry } from "../registry/memory-connection-registry.js";
import { createRedisClient, waitForRedisReady } from "../registry/redis-client.js";
import { RedisConnectionRegistry } from "../registry/redis-connection-registry.js";
import { LocalClusterBus, type ClusterBus } from "./cluster-bus.js";
import { ConnectionTable } from "./connection-table.js";
import { NO_FAILPOINTS, createFailpoints, type Failpoints } from "./failpoints.js";
import { GatewayMetrics } from "./metrics.js";
import { RedisClusterBus } from "./redis-cluster-bus.js";
import { DELIVER_DEDUPE_MS, MAX_REMEMBERED_DELIVERS, Router } from "./router.js";

function record(websocketId: string, instanceId: string, tenantId = "t1", agentType = "a"): ConnectionRecord {
  const now = Date.now();
  return { websocket_id: websocketId, session_id: "s1", tenant_id: tenantId, agent_type: agentType, pillar: "p", instance_id: instanceId, connected_at: now, last_activity_at: now };
}

/** One instance's router over its own table. */
function instance(instanceId: string, registry: ConnectionRegistry, bus: ClusterBus, failpoints: Failpoints = NO_FAILPOINTS) {
  const connections = new ConnectionTable();
  const metrics = new GatewayMetrics(() => new Map(), () => true);
  const router = new Router({ instanceId, registry, bus, connections, metrics, failpoints, remoteAckTimeoutMs: 2_000 });
  onTestFinished(() => router.close());
  return { connections, metrics, router };
}

/** Registers `rec` and holds it on `ws` in `connections`. */
async function hold(registry: ConnectionRegistry, connections: ConnectionTable, ws: WebSocket, rec: ConnectionRecord): Promise<void> {
  await registry.register(rec);
  connections.add({ ws, record: rec, alive: true, active: false, tokens: 1, refilledAt: 0, moved: false });
}

function messages(pair: SocketPair): unknown[] {
  return pair.received.filter((frame) => (frame as { type?: string }).type === "message");
}

describe("Router", () => {
  it("should deliver to local targets of the session, never to the sender, and keep tenants apart", async () => {
    const pair = await useSocketPairs();
    const [sender, agent, other] = [await pair(), await pair(), await pair()];
    const registry = new MemoryConnectionRegistry();
    const { connections, metrics, router } = instance("gw-1", registry, new LocalClusterBus());
    await hold(registry, connections, sender.server, record("w-sender", "gw-1"));
    await hold(registry, connections, agent.server, record("w-agent", "gw-1", "t1", "b"));
    await hold(registry, connections, other.server, record("w-other", "gw-1", "t1", "c"));

    expect(await router.route("t1", "s1", {}, "all", 1, "w-sender")).toEqual({ delivered: 2 });
    expect(await router.route("t1", "s1", { agent_type: "b" }, "b only", 2, "w-sender")).toEqual({ delivered: 1 });
    expect(await router.route("t1", "s1", { websocket_id: "w-agent" }, "direct", 3, null)).toEqual({ delivered: 1 });
    await expect.poll(() => [messages(sender).length, messages(agent).length, messages(other).length]).toEqual([0, 3, 1]);
    expect(metrics.routes.get({ path: "local" })).toBe(4);

    await expect(router.route("t2", "s1", {}, "x", 4, null)).rejects.toMatchObject({ code: "NOT_FOUND", id: 4 });
    await expect(router.route("t2", "s1", { websocket_id: "w-agent" }, "x", 5, null)).rejects.toMatchObject({ code: "NOT_FOUND", id: 5 });
    expect(await router.findConnection("t2", "w-agent")).toBeNull();
    expect(await router.sessionConnections("t2", "s1")).toEqual([]);
  });

  it("should read the data's own tenant under the no-tenant-check failpoint", async () => {
    const pair = await useSocketPairs();
    const registry = new MemoryConnectionRegistry();
    const { connections, router } = instance("gw-1", registry, new LocalClusterBus(), createFailpoints(["no-tenant-check"]));
    await hold(registry, connections, (await pair()).server, record("w1", "gw-1"));
    expect(await router.lookupTenant("t2", "s1")).toBe("t1");
    expect((await router.sessionConnections("t2", "s1")).map((r) => r.websocket_id)).toEqual(["w1"]);
    expect(await router.route("t2", "s1", { websocket_id: "w1" }, "x", 1, null)).toEqual({ delivered: 1 });
  });

  it("should deliver through the holder's channel and count what the holder confirmed", async () => {
    const redis = await useRedisServer();
    const pair = await useSocketPairs();
    const client = createRedisClient(redis.url);
    await waitForRedisReady(client, 5_000);
    const registry = new RedisConnectionRegistry(client, { keyPrefix: "router_test" });
    const busClients = ["gw-1", "gw-2", "gw-3"].map(() => createRedisClient(redis.url));
    const buses = ["gw-1", "gw-2", "gw-3"].map((id, i) => new RedisClusterBus(id, registry.keys, busClients[i]!, createRedisClient(redis.url)));
    onTestFinished(async () => {
      await Promise.allSettled(buses.map((bus) => bus.close()));
      for (const busClient of [client, ...busClients]) busClient.disconnect();
    });
    const [one, two, dropping] = [
      instance("gw-1", registry, buses[0]!),
      instance("gw-2", registry, buses[1]!),
      instance("gw-3", registry, buses[2]!, createFailpoints(["drop-remote"])),
    ];
    for (const [bus, node] of [[buses[0]!, one], [buses[1]!, two], [buses[2]!, dropping]] as const) {
      await bus.start({ onMessage: (message) => node.router.onBusMessage(message), onDown: () => undefined, onUp: () => undefined });
    }
    const target = await pair();
    await hold(registry, two.connections, target.server, record("w-remote", "gw-2"));

    expect(await one.router.route("t1", "s1", { websocket_id: "w-remote" }, "over the bus", 1, null)).toEqual({ delivered: 1 });
    await expect.poll(() => messages(target).length).toBe(1);
    expect(one.metrics.routes.get({ path: "remote" })).toBe(1);
    expect(one.router.pendingRemote).toBe(0);

    // drop-remote acknowledges without sending.
    expect(await dropping.router.route("t1", "s1", {}, "never sent", 2, null)).toEqual({ delivered: 1 });
    expect(await one.router.route("t1", "s1", {}, "after", 3, null)).toEqual({ delivered: 1 });
    await expect.poll(() => messages(target).map((frame) => (frame as { payload?: unknown }).payload)).toEqual(["over the bus", "after"]);

    // A holder that nobody listens for any more (dead): nothing delivered, nothing pending.
    await registry.register(record("w-dead", "gw-dead"));
    expect(await one.router.route("t1", "s1", { websocket_id: "w-dead" }, "x", 4, null)).toEqual({ delivered: 0 });
    expect(one.router.pendingRemote).toBe(0);
  });

  it("should deliver a route back to its sender, and count it, under the echo-sender failpoint", async () => {
    const pair = await useSocketPairs();
    const [sender, agent] = [await pair(), await pair()];
    const registry = new MemoryConnectionRegistry();
    const { connections, router } = instance("gw-1", registry, new LocalClusterBus(), createFailpoints(["echo-sender"]));
    await hold(registry, connections, sender.server, record("w-sender", "gw-1"));
    await hold(registry, connections, agent.server, record("w-agent", "gw-1", "t1", "b"));
    expect(await router.route("t1", "s1", { agent_type: "b" }, "echo", 1, "w-sender")).toEqual({ delivered: 2 });
    await expect.poll(() => [messages(sender).length, messages(agent).length]).toEqual([1, 1]);
    // HTTP routes have no sender to echo to.
    expect(await router.route("t1", "s1", { agent_type: "b" }, "http", 2, null)).toEqual({ delivered: 1 });
  });

  it("should drop about 1% of remote routes, the same ones every time, counting them as delivered, under drop-remote-1pct", async () => {
    const registry = new MemoryConnectionRegistry();
    // A holder nobody listens for: an honest remote delivery confirms 0, a dropped one claims 1.
    await registry.register(record("w-remote", "gw-2"));
    const dropped = async (failpoints: Failpoints) => {
      const { router } = instance("gw-1", registry, new LocalClusterBus(), failpoints);
      const ids: number[] = [];
      for (let id = 0; id < 2_000; id++) {
        if ((await router.route("t1", "s1", { websocket_id: "w-remote" }, "x", `m0-${id}`, null)).delivered === 1) ids.push(id);
      }
      return ids;
    };
    expect(await dropped(NO_FAILPOINTS)).toEqual([]);
    const first = await dropped(createFailpoints(["drop-remote-1pct"]));
    expect(first.length).toBeGreaterThanOrEqual(8);
    expect(first.length).toBeLessThanOrEqual(35);
    expect(await dropped(createFailpoints(["drop-remote-1pct"]))).toEqual(first);
  });

  it("should hand each deliver request to its sockets once, forgetting requests after DELIVER_DEDUPE_MS or beyond MAX_REMEMBERED_DELIVERS", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const pair = await useSocketPairs();
    const agent = await pair();
    const registry = new MemoryConnectionRegistry();
    const { connections, metrics, router } = instance("gw-1", registry, new LocalClusterBus());
    await hold(registry, connections, agent.server, record("w-agent", "gw-1"));
    const deliver = (r: string, ids = ["w-agent"]) =>
      router.onBusMessage({ t: "deliver", r, from: "gw-2", ids, frame: JSON.stringify({ type: "message", id: r, payload: r }) });
    deliver("gw-2:a:1");
    deliver("gw-2:a:1");
    // The same id from another sender is another request.
    router.onBusMessage({ t: "deliver", r: "gw-2:a:1", from: "gw-3", ids: ["w-agent"], frame: JSON.stringify({ type: "message", id: "from-3" }) });
    vi.advanceTimersByTime(DELIVER_DEDUPE_MS - 1);
    deliver("gw-2:a:1");
    vi.advanceTimersByTime(1);
    deliver("gw-2:a:1");
    await expect.poll(() => messages(agent).map((frame) => (frame as { id: string }).id)).toEqual(["gw-2:a:1", "from-3", "gw-2:a:1"]);
    expect(metrics.busDuplicates.get()).toBe(2);
    // Memory stays bounded: the oldest request is forgotten once MAX_REMEMBERED_DELIVERS newer ones came.
    deliver("gw-2:b:0");
    for (let i = 1; i < MAX_REMEMBERED_DELIVERS; i++) deliver(`gw-2:b:${i}`, []);
    deliver("gw-2:b:0");
    expect(metrics.busDuplicates.get()).toBe(3);
    deliver(`gw-2:b:${MAX_REMEMBERED_DELIVERS}`, []);
    deliver("gw-2:b:0");
    await expect.poll(() => messages(agent).length).toBe(5);
    expect(metrics.busDuplicates.get()).toBe(3);
  });
});
