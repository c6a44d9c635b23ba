import { execFileSync } from "node:child_process";
import { describe, expect, it, onTestFinished } from "vitest";
import type { FleetEvent } from "../../harness/fleet/fleet-events.js";
import { ClientFleet, type FleetSummary } from "../../harness/fleet/client-fleet.js";
import { startGateways, TEST_AUTH_SECRET } from "../helpers/gateway.js";
import { isProcessAlive } from "../helpers/processes.js";
import { useRedisServer } from "../helpers/redis.js";

const SOURCES = ["127.0.0.1", "127.0.0.2"];

/** Established client sockets from `source` to `port`, as the kernel sees them. */
function establishedFrom(source: string, port: number): number {
  const out = execFileSync("ss", ["-Htn", "state", "established", "src", source, "dst", `127.0.0.1:${port}`], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.trim() !== "").length;
}

function byClient(events: FleetEvent[]): Map<string, FleetEvent[]> {
  const map = new Map<string, FleetEvent[]>();
  for (const event of events) {
    const list = map.get(event.client) ?? [];
    list.push(event);
    map.set(event.client, list);
  }
  return map;
}

/** The websocket_id of each client's latest welcome. */
function latestIds(events: FleetEvent[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const event of events) if (event.type === "welcome" && event.websocket_id) ids.set(event.client, event.websocket_id);
  return ids;
}

describe("ClientFleet against real gateways", { timeout: 120_000 }, () => {
  it("should ramp a few hundred clients over 2 workers and 2 source addresses, route, and record complete ordered events", async () => {
    const redis = await useRedisServer();
    const gateways = await startGateways(2, redis.url);
    const events: FleetEvent[] = [];
    const fleet = await new ClientFleet({
      targets: gateways.map((gateway) => `ws://127.0.0.1:${gateway.port}`),
      clients: 400,
      workers: 2,
      sourceAddresses: SOURCES,
      rampPerSecond: 500,
      authSecret: TEST_AUTH_SECRET,
      seed: 11,
      onEvent: (event) => events.push(event),
    }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    expect(fleet.workerPids).toHaveLength(2);

    await fleet.waitForConnected(400, 30_000);
    const held = fleet.snapshot();
    expect(held.byInstance).toEqual({ "gw-1": 200, "gw-2": 200 });
    for (const gateway of gateways) {
      // 127.0.0.1 also carries the test's own keep-alive HTTP connection to /readyz.
      expect(establishedFrom("127.0.0.2", gateway.port)).toBe(100);
      expect(establishedFrom("127.0.0.1", gateway.port)).toBeGreaterThanOrEqual(100);
    }

    await fleet.setMessageRate(400);
    await expect.poll(() => fleet.snapshot().messages.acked, { timeout: 20_000 }).toBeGreaterThanOrEqual(400);
    await fleet.setMessageRate(0);
    await expect
      .poll(() => {
        const { messages } = fleet.snapshot();
        return messages.sent > 0 && messages.acked + messages.errors === messages.sent;
      }, { timeout: 10_000 })
      .toBe(true);

    const summary: FleetSummary = await fleet.stop();
    expect(await fleet.stop()).toBe(summary);
    expect(summary.workerExits).toEqual([]);
    expect(summary.welcomes).toBe(400);
    expect(summary.messages.errors).toBe(0);
    expect(summary.latency.connect.count).toBe(400);
    expect(summary.latency.ack.count).toBe(summary.messages.acked);
    expect(summary.latency.delivery.count).toBe(summary.messages.received);
    for (const pid of summary.workerPids) expect(isProcessAlive(pid)).toBe(false);

    // Every client: attempt, welcome, (messages), disconnect; timestamps never go back.
    const clients = byClient(events);
    expect(clients.size).toBe(400);
    for (const [client, list] of clients) {
      expect(list[0]?.type, client).toBe("connect_attempt");
      expect(list.filter((event) => event.type === "welcome"), client).toHaveLength(1);
      const last = list.at(-1);
      expect(last?.type, client).toBe("disconnect");
      expect(last?.type === "disconnect" && last.expected, client).toBe(true);
      for (let i = 1; i < list.length; i++) expect(list[i]!.t).toBeGreaterThanOrEqual(list[i - 1]!.t);
    }
    expect(new Set(latestIds(events).values()).size).toBe(400);

    // Every route is acked exactly once; deliveries match the acks' counts; each received message was sent.
    const sent = events.filter((event) => event.type === "message_sent");
    const acked = events.filter((event) => event.type === "message_acked");
    const received = events.filter((event) => event.type === "message_received");
    expect(sent.length).toBe(summary.messages.sent);
    expect(new Set(acked.map((event) => event.message_id))).toEqual(new Set(sent.map((event) => event.message_id)));
    expect(acked.length).toBe(sent.length);
    expect(received.length).toBe(acked.reduce((sum, event) => sum + (event.delivered ?? 0), 0));
    const sentIds = new Set(sent.map((event) => event.message_id));
    for (const event of received) expect(sentIds.has(event.message_id)).toBe(true);
    const byId = new Map(acked.map((event) => [event.message_id, event]));
    for (const event of sent) {
      if (event.to && "websocket_id" in event.to) expect(byId.get(event.message_id)?.delivered).toBe(1);
    }
  });

  it("should resume with the same websocket_id after a kill -9 and after a drain notice", async () => {
    const redis = await useRedisServer();
    const gateways = await startGateways(3, redis.url, { DRAIN_TIMEOUT_MS: "3000" });
    const events: FleetEvent[] = [];
    const fleet = await new ClientFleet({
      targets: gateways.map((gateway) => `ws://127.0.0.1:${gateway.port}`),
      clients: 150,
      workers: 2,
      authSecret: TEST_AUTH_SECRET,
      seed: 12,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      onEvent: (event) => events.push(event),
    }).start();
    onTestFinished(() => fleet.stop().then(() => undefined));
    await fleet.waitForConnected(150, 30_000);
    const original = latestIds(events);
    expect(original.size).toBe(150);
    const [gw1, gw2] = gateways;

    await gw1!.kill9();
    await expect.poll(() => fleet.snapshot().byInstance["gw-1"] ?? 0, { timeout: 20_000 }).toBe(0);
    await fleet.waitForConnected(150, 20_000);
    expect(latestIds(events)).toEqual(original);
    const afterKill = events.filter((event) => event.type === "welcome" && event.resumed === true);
    expect(afterKill.length).toBe(50);
    expect(events.filter((event) => event.type === "disconnect" && event.close_code === 1006)).toHaveLength(50);

    // gw-1's clients spread over the two others: each holds more than its own 50 now.
    const beforeDrain = fleet.snapshot().byInstance;
    expect(beforeDrain["gw-2"]).toBeGreaterThan(50);
    expect(beforeDrain["gw-3"]).toBeGreaterThan(50);
    const drained = gw2!.sigterm();
    await expect.poll(() => fleet.snapshot().byInstance, { timeout: 20_000 }).toEqual({ "gw-3": 150 });
    expect((await drained).code).toBe(0);
    const notices = events.filter((event) => event.type === "reconnect_notice");
    expect(notices.length).toBeGreaterThanOrEqual(beforeDrain["gw-2"]!);
    expect(notices.every((event) => event.instance_id === "gw-2")).toBe(true);
    expect(latestIds(events)).toEqual(original);
    const summary = await fleet.stop();
    expect(summary.connected).toBe(0);
    for (const pid of summary.workerPids) expect(isProcessAlive(pid)).toBe(false);
  });
});
