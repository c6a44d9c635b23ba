/**
 * The gateway's heartbeat on one instance: pings spread over the period, and a live connection's record refreshed
 * across many TTLs. Both bound wall-clock times (a ping late by a tick, a record past its TTL), so they run in the
 * timed group (vitest.config.ts), beside gateway-restart.test.ts rather than after it.
 */
import { describe, expect, it } from "vitest";
import { startGateway, token } from "../helpers/gateway.js";
import { HeldClients } from "../helpers/held-clients.js";
import { useRedisServer, useRegistry } from "../helpers/redis.js";

const CONNECTION_TTL_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const ENV = { CONNECTION_TTL_MS: String(CONNECTION_TTL_MS), HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS) };

async function setup() {
  const redis = await useRedisServer();
  const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1", env: ENV });
  return { gateway, registry: await useRegistry(redis.url) };
}

describe("gateway heartbeat", () => {
  it("should spread its pings over the heartbeat period, each socket pinged once a period", { timeout: 30_000 }, async () => {
    // 40 sockets in the gateway's 10 slices: a tick every H/10 pings 4 of them. Pinging all of them in one go puts all
    // 40 pings within a few milliseconds; 20 (two slices and a half) within any 100 ms already means bunched ticks.
    const { gateway } = await setup();
    // Held, and their pings timed, in a process of their own (held-clients.ts): timed in the test process, a stall of
    // it bunched the pings it handled after the stall, and one past a heartbeat had the gateway terminate the clients
    // (a 1.2 s stop of the test worker failed this test three times in three).
    const held = await HeldClients.start();
    await held.connectMany(gateway, token("t1"), (i) => `spread-${i}`, 40);
    const fewest = async () => Math.min(...(await held.pings()).map((times) => times.length));
    await expect.poll(fewest, { timeout: 10 * HEARTBEAT_INTERVAL_MS, interval: 100 }).toBeGreaterThanOrEqual(3);
    const pings = await held.pings();
    expect(await held.closed()).toEqual([]);
    const all = pings.flat().sort((a, b) => a - b);
    const densest = Math.max(...all.map((start) => all.filter((t) => t >= start && t < start + 100).length));
    expect(densest, "pings within any 100 ms").toBeLessThanOrEqual(20);
    // Once a period each, not once a tick: two pings of one socket are most of a period apart (a tick late or early
    // under load moves one by a tenth of a period).
    const gaps = pings.flatMap((times) => times.slice(1).map((t, k) => t - times[k]!));
    expect(Math.min(...gaps), "shortest gap between two pings of one socket, ms").toBeGreaterThan(0.7 * HEARTBEAT_INTERVAL_MS);
  });

  it("should keep a live connection's record alive across many TTLs while refreshing it in batches", { timeout: 30_000 }, async () => {
    const { gateway, registry } = await setup();
    // Held in a process of their own (held-clients.ts): a stall of the test process past a heartbeat had the gateway
    // terminate the client and remove the record this test looks for.
    const held = await HeldClients.start();
    const [websocketId] = await held.connectMany(gateway, token("t1"), () => "ttl", 1);
    const start = Date.now();
    await expect.poll(() => gateway.metric("traffic_cop_heartbeats_total"), { timeout: CONNECTION_TTL_MS * 2, interval: 200 }).toBeGreaterThanOrEqual(
      CONNECTION_TTL_MS / HEARTBEAT_INTERVAL_MS + 1,
    );
    expect(Date.now() - start).toBeGreaterThan(CONNECTION_TTL_MS);
    expect(await registry.getConnection("t1", "ttl", websocketId!)).toMatchObject({ instance_id: "gw-1" });
    expect(await held.closed()).toEqual([]);
  });
});
