/**
 * A registration whose reply comes back after the command timeout: Redis ran the write, the gateway saw a failure
 * and refused the upgrade (503). The refused connection must not stay in the registry until its TTL.
 */
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { startGateway, token } from "../helpers/gateway.js";
import { useRedisClient, useRedisServer } from "../helpers/redis.js";
import { proxyTo, useToxiproxy } from "../helpers/toxiproxy.js";

/** Reply delay on the gateway's Redis link, ms: above the gateway's command timeout (1,000 ms), so writes run but "fail". */
const REPLY_DELAY_MS = 1_500;
/**
 * How long the refused connection's record may outlive the refusal, ms: the removal goes out at once behind the
 * write on the same link (so Redis runs it right after), its own late reply marks it failed and it is retried at the
 * next heartbeat (1 s); 5 s leaves room for loaded cores, far below the TTL (60 s) a leftover record would live.
 */
const CLEANUP_BOUND_MS = 5_000;

function refusalOf(url: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${auth}` } });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      ws.terminate();
      reject(new Error("the upgrade was accepted: the registration did not time out"));
    });
    ws.on("error", () => undefined);
  });
}

describe("gateway on a Redis that answers after the command timeout", () => {
  it("should take the record of a refused connection back out", { timeout: 60_000 }, async () => {
    const redis = await useRedisServer();
    const direct = useRedisClient({ host: "127.0.0.1", port: redis.port });
    const { toxiproxy } = await useToxiproxy({ seed: 5 });
    const proxy = await proxyTo(toxiproxy, "redis", `127.0.0.1:${redis.port}`);
    const gateway = await startGateway({ redisUrl: `redis://${proxy.listen}`, instanceId: "gw-1", env: { CONNECTION_TTL_MS: "60000", HEARTBEAT_INTERVAL_MS: "1000" } });
    const records = () => direct.keys("traffic_cop:session:slow:websocket:*");
    // Keyspace events prove that the refused connection's record was written (it may be gone again by the time a
    // poll would look).
    await direct.config("SET", "notify-keyspace-events", "Kh");
    const watcher = useRedisClient({ host: "127.0.0.1", port: redis.port });
    const written: string[] = [];
    watcher.on("pmessage", (_pattern, channel) => written.push(channel));
    await watcher.psubscribe("__keyspace@0__:traffic_cop:session:slow:websocket:*");

    const delay = await proxy.addToxic({ name: "late", type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: REPLY_DELAY_MS, jitter: 0 } } as never);
    expect(await refusalOf(`${gateway.wsUrl}?session_id=slow&agent_type=a&pillar=p`, token("t1"))).toBe(503);
    // The write did run: what the refusal would leave behind.
    await expect.poll(() => written.length, { timeout: 3 * REPLY_DELAY_MS }).toBeGreaterThan(0);
    await delay.remove();
    await expect.poll(records, { timeout: CLEANUP_BOUND_MS, interval: 100 }).toEqual([]);
  });
});
