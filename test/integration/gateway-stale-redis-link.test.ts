/**
 * A Redis connection gone silent without a reset (a NAT that forgot the flow, a host whose address moved on): the
 * connection stays open and answers nothing, while a new one would work. The watchdog (src/registry/
 * redis-link-watchdog.ts) must drop it so that the client connects again, and must leave alone a connection whose
 * own process stood still while the replies waited in its socket. The gateway with it serves again well within
 * 8 s; the same gateway without it (failpoint `no-link-watchdog`) is still unavailable after those 8 s.
 */
import { Redis } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { RedisLinkWatchdog } from "../../src/registry/redis-link-watchdog.js";
import { startGateway, token } from "../helpers/gateway.js";
import { useRedisClient, useRedisServer } from "../helpers/redis.js";
import { useSilencingRelay } from "../helpers/silencing-relay.js";
import { statusesUntilOk } from "../helpers/timing.js";
import { connectClient } from "../helpers/wire-client.js";

/**
 * The scenario's bound (scenarios/packet-loss.ts, `STALE_LINK_RECOVERY_MS`): the gateway drops a connection silent for
 * three command timeouts (3 s), looks every second, reconnects within its 500 ms backoff: 4.5 s at worst.
 */
const RECOVERY_BOUND_MS = 8_000;
const auth = { authorization: `Bearer ${token("t1")}` };

/**
 * A real redis-server behind a silencing relay, and an ioredis client through the relay under a watchdog of
 * `silenceTimeoutMs` (commands time out after 200 ms, reconnects after 50 ms), ready; each silence it saw in `silences`.
 */
async function watchedThroughRelay(silenceTimeoutMs: number) {
  const redis = await useRedisServer();
  const relay = await useSilencingRelay({ host: "127.0.0.1", port: redis.port });
  const silences: number[] = [];
  const client = new Redis({ host: "127.0.0.1", port: relay.port, commandTimeout: 200, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
  client.on("error", () => undefined);
  const watchdog = new RedisLinkWatchdog(client, { silenceTimeoutMs, onSilent: (ms) => silences.push(ms) }).start();
  onTestFinished(() => {
    watchdog.stop();
    client.disconnect();
  });
  await expect.poll(() => client.status).toBe("ready");
  return { redis, relay, client, silences };
}

describe("a Redis connection gone silent", () => {
  it("should be dropped by the watchdog and connected again, while a stalled process's is kept", { timeout: 30_000 }, async () => {
    const { relay, client, silences } = await watchedThroughRelay(600);
    expect(await client.set("k", "v")).toBe("OK");

    // This process stands still for five silence timeouts while Redis answers into the socket: not a silence. (The
    // command itself may resolve or time out, whichever phase of the loop comes first.)
    const pending = client.get("k").catch(() => undefined);
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      // Busy on purpose: the event loop runs nothing meanwhile, as in a frozen or overloaded process.
    }
    await pending;
    await expect.poll(() => client.ping().catch(() => "no answer"), { timeout: 2_000 }).toBe("PONG");
    expect(silences).toEqual([]);
    expect(relay.accepted).toBe(1);

    // Now the relay silences it: the watchdog's pings go unanswered, it drops the connection, the client reconnects.
    expect(relay.silenceOpen()).toBe(1);
    await expect.poll(() => relay.accepted, { timeout: 5_000 }).toBe(2);
    await expect.poll(() => client.get("k").catch((error: Error) => error.message), { timeout: 5_000 }).toBe("v");
    expect(silences).toHaveLength(1);
    expect(silences[0]).toBeGreaterThanOrEqual(600);
  });

  it("should leave an idle connection alone: its pings are answered", { timeout: 30_000 }, async () => {
    const { redis, relay, silences } = await watchedThroughRelay(300);
    // Idle: only the watchdog's pings (every 100 ms without a reply) go over it, thirty of them in about 3 s.
    const observer = useRedisClient({ host: "127.0.0.1", port: redis.port });
    const pings = async () => Number(/cmdstat_ping:calls=(\d+)/.exec(await observer.info("commandstats"))?.[1] ?? 0);
    await expect.poll(pings, { timeout: 10_000, interval: 500 }).toBeGreaterThanOrEqual(30);
    expect(silences).toEqual([]);
    expect(relay.accepted).toBe(1);
  });

  for (const [name, defects, recovers] of [
    ["should serve again within the bound, the old connections still silent", "", true],
    ["should stay unavailable past the bound without the watchdog (failpoint no-link-watchdog)", "no-link-watchdog", false],
  ] as const) {
    it(`gateway: ${name}`, { timeout: 60_000 }, async () => {
      const redis = await useRedisServer();
      const relay = await useSilencingRelay({ host: "127.0.0.1", port: redis.port });
      const gateway = await startGateway({ redisUrl: `redis://${relay.listen}`, instanceId: "gw-1", env: { CONNECTION_TTL_MS: "30000", HEARTBEAT_INTERVAL_MS: "1000", ...(defects ? { TRAFFIC_COP_DEFECTS: defects } : {}) } });
      const client = await connectClient(gateway, token("t1"), { session_id: "s", agent_type: "a", pillar: "p" });
      const peer = await connectClient(gateway, token("t1"), { session_id: "s", agent_type: "b", pillar: "p" });
      const lookup = async () => (await gateway.fetch(`/v1/connections/${client.websocketId}`, { headers: auth })).status;
      expect(await lookup()).toBe(200);

      // Both of its connections (commands and subscriber).
      expect(relay.silenceOpen()).toBe(2);
      const silencedAt = Date.now();
      await expect.poll(lookup, { timeout: 3_000 }).toBe(503);
      const statuses = await statusesUntilOk(lookup, silencedAt, RECOVERY_BOUND_MS);
      if (recovers) {
        expect(statuses.at(-1), `lookups after the silence: ${statuses.join(" ")}`).toBe(200);
        await expect.poll(async () => (await gateway.fetch("/readyz")).status, { timeout: RECOVERY_BOUND_MS }).toBe(200);
        expect(gateway.events().filter((e) => e.event === "redis_link_silent").map((e) => e.connection).sort()).toEqual(["commands", "subscriber"]);
        for (const connection of ["commands", "subscriber"]) expect(await gateway.metric("traffic_cop_redis_silent_links_total", { connection }), connection).toBe(1);
        // The sockets stayed open throughout, and a route between them finds its target through the new connection.
        expect(await peer.request({ type: "route", id: 1, session_id: "s", to: { websocket_id: client.websocketId }, payload: "back" }, 5_000)).toMatchObject({ type: "ack", delivered: 1 });
      } else {
        expect(statuses.every((status) => status === 503), `lookups after the silence: ${statuses.join(" ")}`).toBe(true);
        expect(relay.accepted).toBe(2);
        expect(await gateway.metric("traffic_cop_redis_silent_links_total")).toBe(0);
      }
    });
  }
});
