/**
 * Redis lost by every instance at once for longer than a liveness TTL: every liveness key lapses while no instance is
 * dead. When Redis comes back the instances reconnect one after another (each within its own reconnect backoff),
 * and the first one back must not take the others, still reconnecting, for dead and reap their live records
 * (docs/protocol.md, Bounds: a survivor reaps only once it has had Redis for `L` without a break).
 */
import { describe, expect, it } from "vitest";
import { RegistryKeys } from "../../src/registry/keys.js";
import { startGateway, token, type TestGateway } from "../helpers/gateway.js";
import { connectClient, type TestClient } from "../helpers/wire-client.js";
import { useRedisClient, useRedisServer } from "../helpers/redis.js";
import { proxyTo, useToxiproxy } from "../helpers/toxiproxy.js";

/**
 * T 9 s: liveness TTL L = 3 s, liveness refresh and scan period S = 1 s (docs/protocol.md). Records refreshed every
 * H = 1 s outlive the outage (about L + S) by 4 s, so none expires before its instance is back.
 */
const ENV = { CONNECTION_TTL_MS: "9000", HEARTBEAT_INTERVAL_MS: "1000" };
const L_MS = 3_000;
const S_MS = 1_000;
/**
 * How long the first instance back has Redis to itself before the others come back: long enough for its reconnect
 * refresh and scan (a few round trips), well inside L, and within the 500 ms reconnect backoff that separates
 * instances that lost Redis together.
 */
const FIRST_BACK_ALONE_MS = 500;
/** From the last heal: past the end of the first instance's wait of L and its next scan. */
const WATCH_MS = L_MS + S_MS;
const keys = new RegistryKeys();

async function metricSum(gateways: readonly TestGateway[], name: string): Promise<number> {
  let sum = 0;
  for (const gateway of gateways) sum += await gateway.metric(name);
  return sum;
}

describe("gateway after an outage of Redis shared by every instance", () => {
  it("should reap no live instance's records when every liveness key lapsed and the instances come back one by one", { timeout: 60_000 }, async () => {
    const redis = await useRedisServer();
    const { toxiproxy } = await useToxiproxy({ seed: 5 });
    // One link per instance, so that each can be given Redis back at its own moment.
    const proxies = await Promise.all([1, 2, 3].map((i) => proxyTo(toxiproxy, `redis-${i}`, `127.0.0.1:${redis.port}`)));
    const gateways = await Promise.all(proxies.map((proxy, i) => startGateway({ redisUrl: `redis://${proxy.listen}`, instanceId: `gw-${i + 1}`, env: ENV })));
    const clients: TestClient[] = [];
    for (const gateway of gateways) {
      for (let i = 0; i < 4; i++) clients.push(await connectClient(gateway, token("t1"), { session_id: `s-${gateway.instanceId}-${i}`, agent_type: "a", pillar: "p" }));
    }
    const raw = useRedisClient(redis, { lazyConnect: false });
    const present = async () => {
      const found = await Promise.all(clients.map((client) => raw.exists(keys.connection(client.welcome.session_id, client.websocketId))));
      return clients.filter((_, i) => found[i] === 1).length;
    };
    expect(await present()).toBe(clients.length);
    const setEnabled = (proxy: (typeof proxies)[number], enabled: boolean) => proxy.update({ listen: proxy.listen, upstream: proxy.upstream, enabled });

    await Promise.all(proxies.map((proxy) => setEnabled(proxy, false)));
    // The instance set outlives the liveness keys when the outage ends within a refresh period after the first key
    // lapsed (the set's TTL follows the latest refresh of any instance); rather than time the heal into that window,
    // the test keeps the set for the whole outage. Redis itself stays up: polled directly until every key lapsed.
    await expect
      .poll(
        async () => {
          await raw.pexpire(keys.aliveInstances(), 10_000);
          return raw.exists(...gateways.map((gw) => keys.instanceAlive(gw.instanceId)));
        },
        { timeout: L_MS + 5_000, interval: 50 },
      )
      .toBe(0);
    expect(await raw.zcard(keys.aliveInstances())).toBe(3);

    // Redis back for gw-1 first: it refreshes its liveness and scans while the others are still cut off.
    await setEnabled(proxies[0]!, true);
    await expect.poll(async () => (await gateways[0]!.fetch("/readyz")).status, { timeout: 10_000, interval: 20 }).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, FIRST_BACK_ALONE_MS));
    await Promise.all(proxies.slice(1).map((proxy) => setEnabled(proxy, true)));
    const healedAt = Date.now();
    // From then on no record of a live connection goes missing (they outlive the outage) and nothing is
    // reaped, while the others come back and for the first one's wait of L and two scans after it.
    const missing: { after_heal_ms: number; present: number }[] = [];
    while (Date.now() < healedAt + WATCH_MS) {
      const n = await present();
      if (n !== clients.length) missing.push({ after_heal_ms: Date.now() - healedAt, present: n });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const gateway of gateways) expect((await gateway.fetch("/readyz")).status, gateway.instanceId).toBe(200);
    expect({ reaped: await metricSum(gateways, "traffic_cop_reaped_records_total"), missing: missing.slice(0, 5) }).toEqual({ reaped: 0, missing: [] });
    expect(clients.every((client) => client.ws.readyState === client.ws.OPEN)).toBe(true);
  });
});
