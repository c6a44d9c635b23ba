/**
 * A survivor reaping a big dead instance keeps its own liveness key alive, so that no other survivor takes it for
 * dead and reaps its live records. It runs alone (vitest.config.ts, ALONE): it loads Redis and both gateways on
 * purpose, and its verdict rests on a wall-clock bound (the liveness TTL).
 */
import { describe, expect, it } from "vitest";
import { RegistryKeys } from "../../src/registry/keys.js";
import { startGateway, token } from "../helpers/gateway.js";
import { connectClient } from "../helpers/wire-client.js";
import { useRedisClient, useRedisServer, useRegistry } from "../helpers/redis.js";

const ENV = { CONNECTION_TTL_MS: "6000", HEARTBEAT_INTERVAL_MS: "1000" };
/** Liveness refresh and scan period S = L / 3 with L = T / 3 (docs/protocol.md). */
const SCAN_PERIOD_MS = Math.round(Number(ENV.CONNECTION_TTL_MS) / 9);
const keys = new RegistryKeys();

describe("reaping a big dead instance", () => {
  it("should keep its own liveness while it reaps a big dead instance, so no survivor reaps a live one", { timeout: 60_000 }, async () => {
    // T 6 s: liveness TTL L = 2 s, refresh and scan period S = 667 ms. Reaping DEAD_RECORDS takes one Redis round
    // trip per 100 of them, over twice L - S on this machine (measured: 2.6-2.8 s), so a
    // liveness refresh that waited for the reap lapses, and the refresh on its own timer has a second of slack.
    const DEAD_RECORDS = 30_000;
    const redis = await useRedisServer();
    const gateways = await Promise.all([1, 2].map((i) => startGateway({ redisUrl: redis.url, instanceId: `gw-${i}`, env: ENV })));
    const registry = await useRegistry(redis.url);
    const raw = useRedisClient(redis, { lazyConnect: false });
    // A dead instance, as a SIGKILL leaves one: its records (with a TTL far beyond the test) and its overdue entry in
    // the instance set, without a liveness key.
    const now = Date.now();
    for (let offset = 0; offset < DEAD_RECORDS; offset += 1_000) {
      await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          registry.register(
            { websocket_id: `dead-${offset + i}`, session_id: `dead-s-${(offset + i) % 500}`, tenant_id: "t1", agent_type: "a", pillar: "p", instance_id: "gw-dead", connected_at: now, last_activity_at: now },
            { ttlMs: 120_000 },
          ),
        ),
      );
    }
    // Connected after the heavy writes above, which could hold up this process's answers to the gateways' pings.
    const clients = await Promise.all(gateways.flatMap((gw) => Array.from({ length: 5 }, (_, i) => connectClient(gw, token("t1"), { session_id: `live-${gw.instanceId}-${i}`, agent_type: "a", pillar: "p" }))));
    // Watch both live instances' liveness keys until the dead one is reaped.
    const lapses: { instance: string; t: number }[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [one, two] = await Promise.all(gateways.map((gw) => raw.exists(keys.instanceAlive(gw.instanceId))));
        if (one === 0) lapses.push({ instance: "gw-1", t: Date.now() });
        if (two === 0) lapses.push({ instance: "gw-2", t: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = Date.now();
    await raw.zadd(keys.aliveInstances(), 0, "gw-dead");
    // Polled on the metrics, not by listing 30,000 records, which would load this process as much as the gateways.
    const reapedInstances = async () => (await gateways[0]!.metric("traffic_cop_reaped_instances_total")) + (await gateways[1]!.metric("traffic_cop_reaped_instances_total"));
    await expect.poll(reapedInstances, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    const reapMs = Date.now() - started;
    // A watch window of two more scan periods: a survivor reaped by the other would be counted by then.
    await new Promise((resolve) => setTimeout(resolve, 2 * SCAN_PERIOD_MS));
    watching = false;
    await watch;
    expect(lapses, `reaping took ${reapMs} ms`).toEqual([]);
    expect(await reapedInstances()).toBe(1);
    expect(await registry.listInstanceConnections("gw-dead")).toEqual([]);
    for (const client of clients) expect(await raw.exists(keys.connection(client.welcome.session_id, client.websocketId))).toBe(1);
  });
});
