import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { WebSocket } from "ws";
import { useRedisServer, useRegistry } from "../../test/helpers/redis.js";
import { useSocketPairs } from "../../test/helpers/socket-pair.js";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { MemoryConnectionRegistry } from "../registry/memory-connection-registry.js";
import { ConnectionTable, type LocalConnection } from "./connection-table.js";
import { NO_FAILPOINTS, createFailpoints, type Failpoints } from "./failpoints.js";
import { GatewayMetrics } from "./metrics.js";
import { HEARTBEAT_SLICES, REFRESH_BATCH, RecordRefresher, refreshSliceOf } from "./record-refresher.js";

function local(ws: WebSocket, websocketId: string): LocalConnection {
  const record: ConnectionRecord = {
    websocket_id: websocketId,
    session_id: "s1",
    tenant_id: "t1",
    agent_type: "a",
    pillar: "p",
    instance_id: "gw-1",
    connected_at: 1_000,
    last_activity_at: 1_000,
  };
  return { ws, record, alive: true, active: false, tokens: 1, refilledAt: 0, moved: false };
}

function setup(failpoints: Failpoints) {
  const registry = new MemoryConnectionRegistry();
  const connections = new ConnectionTable();
  const metrics = new GatewayMetrics(() => new Map(), () => true);
  const refresher = new RecordRefresher({ instanceId: "gw-1", registry, connections, connectionTtlMs: 30_000, metrics, failpoints });
  return { registry, connections, metrics, refresher };
}

describe("RecordRefresher", () => {
  it(`should refresh a big instance's records ${REFRESH_BATCH} at a time, one round trip after another`, async () => {
    const pair = await useSocketPairs();
    const { server } = await pair();
    const { registry, connections, metrics, refresher } = setup(NO_FAILPOINTS);
    const count = 2 * REFRESH_BATCH + 100;
    for (let i = 0; i < count; i++) {
      const connection = local(server, `w${i}`);
      await registry.register(connection.record);
      connections.add(connection);
    }
    // Each call still runs the registry's own heartbeat; the spy only notes its size and overlap.
    const sizes: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const heartbeat = registry.heartbeat.bind(registry);
    vi.spyOn(registry, "heartbeat").mockImplementation(async (entries, options) => {
      sizes.push(entries.length);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await heartbeat(entries, options);
      } finally {
        inFlight--;
      }
    });
    await refresher.tick();
    expect(sizes).toEqual([REFRESH_BATCH, REFRESH_BATCH, 100]);
    expect(mostInFlight).toBe(1);
    expect(metrics.heartbeatBatches.get({ result: "ok" })).toBe(3);
  });

  it("should write missing records again, refresh activity of active sockets, and terminate sockets that missed a pong", async () => {
    const pair = await useSocketPairs();
    const [one, two, silent] = [await pair(), await pair(), await pair()];
    const { registry, connections, metrics, refresher } = setup(NO_FAILPOINTS);
    const present = local(one.server, "w1");
    const missing = local(two.server, "w2");
    const halfOpen = local(silent.server, "w3");
    await registry.register({ ...present.record, last_activity_at: Date.now() });
    present.active = true;
    halfOpen.alive = false;
    for (const connection of [present, missing, halfOpen]) connections.add(connection);
    const closed = new Promise<number>((resolve) => silent.client.once("close", resolve));
    const pinged = new Promise<void>((resolve) => one.client.once("ping", () => resolve()));

    await refresher.tick();

    expect(await closed).toBe(1006);
    expect(metrics.halfOpen.get()).toBe(1);
    expect(metrics.reconciliations.get()).toBe(1);
    expect(present.active).toBe(false);
    expect(present.record.last_activity_at).toBeGreaterThan(1_000);
    expect((await registry.getSessionConnections("t1", "s1")).map((record) => record.websocket_id)).toEqual(["w1", "w2"]);
    // Pinged: the next tick terminates it unless a pong comes first.
    expect(present.alive).toBe(false);
    await pinged;
  });

  it("should share one reconciliation between concurrent calls", async () => {
    const pair = await useSocketPairs();
    const { registry, connections, refresher } = setup(NO_FAILPOINTS);
    connections.add(local((await pair()).server, "w1"));
    const [first, second] = [refresher.reconcile(), refresher.reconcile()];
    expect(first).toBe(second);
    expect(await first).toBe(1);
    expect(await refresher.reconcile()).toBe(0);
    expect(await registry.getSessionConnections("t1", "s1")).toHaveLength(1);
  });

  it("should write a missing record again once when a heartbeat and a reconciliation both find it missing", async () => {
    const pair = await useSocketPairs();
    const registry = await useRegistry((await useRedisServer()).url);
    const connections = new ConnectionTable();
    const metrics = new GatewayMetrics(() => new Map(), () => true);
    const refresher = new RecordRefresher({ instanceId: "gw-1", registry, connections, connectionTtlMs: 30_000, metrics, failpoints: NO_FAILPOINTS });
    connections.add(local((await pair()).server, "w1"));
    // The tick's refresh (its first turn over, its heartbeat sent to Redis) and a reconciliation (Redis back up)
    // ask Redis before either hears back: both are told the record is missing.
    const tick = refresher.tick();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const reconciled = refresher.reconcile();
    await Promise.all([tick, reconciled]);
    expect(metrics.heartbeatBatches.get({ result: "ok" })).toBe(2);
    expect(metrics.reconciliations.get()).toBe(1);
    expect(metrics.registrations.get({ kind: "reconcile" })).toBe(1);
    expect((await registry.getSessionConnections("t1", "s1")).map((record) => record.websocket_id)).toEqual(["w1"]);
  });

  it("should ping but write nothing under the no-heartbeat failpoint", async () => {
    const pair = await useSocketPairs();
    const { registry, connections, metrics, refresher } = setup(createFailpoints(["no-heartbeat"]));
    const connection = local((await pair()).server, "w1");
    connections.add(connection);
    await refresher.tick();
    expect(await refresher.reconcile()).toBe(0);
    expect(connection.alive).toBe(false);
    expect(metrics.heartbeatBatches.get({ result: "ok" })).toBe(0);
    expect(await registry.getSessionConnections("t1", "s1")).toEqual([]);
  });

  it("should write records lost during a stall again, except under the no-rewake-reregister failpoint", async () => {
    const pair = await useSocketPairs();
    for (const [failpoints, expected] of [[NO_FAILPOINTS, ["w1"]], [createFailpoints(["no-rewake-reregister"]), []]] as const) {
      const { registry, connections, refresher } = setup(failpoints);
      const connection = local((await pair()).server, "w1");
      connections.add(connection);
      const start = Date.now();
      await refresher.tick();
      expect((await registry.getSessionConnections("t1", "s1")).map((record) => record.websocket_id)).toEqual(["w1"]);
      // The process was frozen for longer than the TTL: another instance reaped the record; the socket answered its ping.
      await registry.unregister("t1", "s1", "w1", { ifInstanceId: "gw-1" });
      const clock = vi.spyOn(Date, "now").mockReturnValue(start + 31_000);
      try {
        connection.alive = true;
        await refresher.tick();
        expect((await registry.getSessionConnections("t1", "s1")).map((record) => record.websocket_id)).toEqual(expected);
        expect(connection.ws.readyState).toBe(connection.ws.OPEN);
      } finally {
        clock.mockRestore();
      }
    }
  });

  it("should read the pongs that came in time before judging, when its tick runs late", async () => {
    const pair = await useSocketPairs();
    const { connections, metrics, refresher } = setup(NO_FAILPOINTS);
    const { server, client } = await pair();
    const connection = local(server, "w1");
    server.on("pong", () => (connection.alive = true));
    connections.add(connection);
    // The client answers the first ping at once (ws answers before it emits 'ping'); the second tick is then due
    // before the gateway's end has read that pong, as when a busy process's timer fires late: Node runs due timers
    // before it reads sockets.
    const second = new Promise<void>((resolve, reject) => {
      client.once("ping", () => {
        setTimeout(() => refresher.tick().then(resolve, reject), 0);
        const until = performance.now() + 5;
        while (performance.now() < until) {
          // Busy: the timer is due by the next turn of the event loop.
        }
      });
    });
    await refresher.tick();
    await second;
    expect(metrics.halfOpen.get()).toBe(0);
    expect(server.readyState).toBe(server.OPEN);
  });

  it("should not take a slow refresh for a stall: a socket that missed its pong is still terminated", async () => {
    const pair = await useSocketPairs();
    const registry = new MemoryConnectionRegistry();
    const connections = new ConnectionTable();
    const metrics = new GatewayMetrics(() => new Map(), () => true);
    // H 500 ms, T 3 s: a stall is a gap of 1.5 s. The refresh takes 1.6 s (a loaded Redis or proxy), the timer 0.5 s.
    const refresher = new RecordRefresher({ instanceId: "gw-1", registry, connections, connectionTtlMs: 3_000, heartbeatIntervalMs: 500, metrics, failpoints: NO_FAILPOINTS });
    let now = 1_000_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    onTestFinished(() => clock.mockRestore());
    const heartbeat = registry.heartbeat.bind(registry);
    registry.heartbeat = (...args: Parameters<typeof heartbeat>) => {
      now += 1_600;
      return heartbeat(...args);
    };
    const { server, client } = await pair();
    const halfOpen = local(server, "w1");
    connections.add(halfOpen);
    client.pause(); // reads nothing more: no pong
    await refresher.tick();
    now += 500;
    await refresher.tick();
    expect(metrics.halfOpen.get()).toBe(1);
    expect(server.readyState).not.toBe(server.OPEN);
  });

  it("should not take pongs missed during a stall of its own process for half-open sockets", async () => {
    const pair = await useSocketPairs();
    const { connections, metrics, refresher } = setup(NO_FAILPOINTS);
    const connection = local((await pair()).server, "w1");
    connections.add(connection);
    const start = Date.now();
    await refresher.tick();
    // Frozen right after the ping: the pong is still unread when the overdue tick runs.
    expect(connection.alive).toBe(false);
    const clock = vi.spyOn(Date, "now").mockReturnValue(start + 60_000);
    try {
      await refresher.tick();
    } finally {
      clock.mockRestore();
    }
    expect(connection.ws.readyState).toBe(connection.ws.OPEN);
    expect(metrics.halfOpen.get()).toBe(0);
  });
});

describe("RecordRefresher in slices", () => {
  it("should ping one slice per tick, every connection once in `slices` ticks, refresh every record once a period, and judge a silent one a period after its ping", async () => {
    const pair = await useSocketPairs();
    const registry = new MemoryConnectionRegistry();
    const connections = new ConnectionTable();
    const metrics = new GatewayMetrics(() => new Map(), () => true);
    const refresher = new RecordRefresher({ instanceId: "gw-1", registry, connections, connectionTtlMs: 30_000, heartbeatIntervalMs: 10_000, slices: 3, metrics, failpoints: NO_FAILPOINTS });
    const sockets = [];
    for (let i = 0; i < 6; i++) sockets.push(await pair()); // one at a time: each pair takes the next accepted socket
    const pinged = sockets.map(() => 0);
    sockets.forEach(({ client }, i) => client.on("ping", () => pinged[i]!++));
    const locals = sockets.map(({ server }, i) => {
      const connection = local(server, `w${i}`);
      server.on("pong", () => (connection.alive = true));
      return connection;
    });
    for (const connection of locals) {
      await registry.register(connection.record);
      connections.add(connection);
    }
    sockets[0]!.client.pause(); // reads nothing: no pong, a half-open socket
    await refresher.tick();
    expect(metrics.heartbeats.get(), "records refreshed by the first tick: all of them").toBe(6);
    // A ping clears `alive` at once and no pong is read before the tick ends, so the cleared ones are the pinged slice.
    expect(locals.filter((connection) => !connection.alive).length, "sockets pinged by the first tick: one slice").toBe(2);
    await refresher.tick();
    await refresher.tick();
    expect(metrics.heartbeats.get(), "records refreshed in one period: each once").toBe(6);
    await expect.poll(() => pinged.slice(1)).toEqual([1, 1, 1, 1, 1]);
    await expect.poll(() => locals.slice(1).every((connection) => connection.alive)).toBe(true);
    expect(metrics.halfOpen.get(), "judged before its slice came round again").toBe(0);
    for (let i = 0; i < 3; i++) await refresher.tick();
    expect(metrics.halfOpen.get()).toBe(1);
    expect(sockets[0]!.server.readyState).not.toBe(sockets[0]!.server.OPEN);
    await expect.poll(() => pinged.slice(1)).toEqual([2, 2, 2, 2, 2]);
    // Six more, by the second period's first tick: the terminated socket's record too, as without slices (its close
    // handler removes it right after).
    expect(metrics.heartbeats.get()).toBe(12);
  });

  it("should refresh every record on the tick of its refresh slice, once a period", async () => {
    const pair = await useSocketPairs();
    const registry = new MemoryConnectionRegistry();
    const connections = new ConnectionTable();
    const metrics = new GatewayMetrics(() => new Map(), () => true);
    const refresher = new RecordRefresher({ instanceId: "gw-1", registry, connections, connectionTtlMs: 30_000, heartbeatIntervalMs: 10_000, slices: 3, refreshSlice: 2, metrics, failpoints: NO_FAILPOINTS });
    for (let i = 0; i < 4; i++) {
      const connection = local((await pair()).server, `w${i}`);
      await registry.register(connection.record);
      connections.add(connection);
    }
    const refreshedAfterTick: number[] = [];
    for (let i = 0; i < 6; i++) {
      await refresher.tick();
      refreshedAfterTick.push(metrics.heartbeats.get());
    }
    expect(refreshedAfterTick).toEqual([0, 0, 4, 4, 4, 8]);
  });

  it("should give the instances of a run, named as the harness names them, refresh slices of their own", () => {
    const slices = ["gw-1", "gw-2", "gw-3", "gw-4", "gw-5"].map((id) => refreshSliceOf(id, HEARTBEAT_SLICES));
    expect(new Set(slices).size).toBe(slices.length);
    expect(slices.every((slice) => Number.isInteger(slice) && slice >= 0 && slice < HEARTBEAT_SLICES)).toBe(true);
    expect(refreshSliceOf("gw-1", HEARTBEAT_SLICES), "stable for an instance id").toBe(refreshSliceOf("gw-1", HEARTBEAT_SLICES));
  });

  it("should ping every slice once after a stall of its own process before judging any", async () => {
    const pair = await useSocketPairs();
    const registry = new MemoryConnectionRegistry();
    const connections = new ConnectionTable();
    const metrics = new GatewayMetrics(() => new Map(), () => true);
    const refresher = new RecordRefresher({ instanceId: "gw-1", registry, connections, connectionTtlMs: 30_000, heartbeatIntervalMs: 10_000, slices: 2, metrics, failpoints: NO_FAILPOINTS });
    const [first, second] = [local((await pair()).server, "w1"), local((await pair()).server, "w2")];
    connections.add(first);
    connections.add(second);
    const start = Date.now();
    await refresher.tick(); // slice 0: w1 pinged
    await refresher.tick(); // slice 1: w2 pinged
    expect([first.alive, second.alive]).toEqual([false, false]);
    // Frozen for a minute with both pongs unread; the tick after it is a stall (slice 0), the next one is not late
    // (slice 1), and w2's missed pong still proves nothing until it was pinged after the stall.
    let now = start + 60_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    onTestFinished(() => clock.mockRestore());
    await refresher.tick();
    now += 1_000;
    await refresher.tick();
    expect(metrics.halfOpen.get()).toBe(0);
    expect([first.ws.readyState, second.ws.readyState]).toEqual([first.ws.OPEN, second.ws.OPEN]);
    // A period after the stall both were pinged again and never answered (no pong handler here): judged now.
    now += 1_000;
    await refresher.tick();
    now += 1_000;
    await refresher.tick();
    expect(metrics.halfOpen.get()).toBe(2);
  });
});
