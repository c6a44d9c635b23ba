/**
 * A Redis black hole (the proxy's `timeout` 0 toxic: the link stays open, nothing comes back) while heartbeats keep
 * commands in flight: every lookup and route must still fail with REGISTRY_UNAVAILABLE within the command timeout
 * (1 s) plus slack, not wait behind earlier commands, and sockets stay open. Healing brings lookups back.
 */
import { describe, expect, it } from "vitest";
import { isRegistryUnavailable, openProbeSocket, openProbeSocketWhileUnavailable, UNAVAILABLE_RETRY_WINDOW_MS } from "../../harness/probes/probe-io.js";
import { startGateway, startGateways, token } from "../helpers/gateway.js";
import { connectClient } from "../helpers/wire-client.js";
import { useRedisClient, useRedisServer } from "../helpers/redis.js";
import { proxyTo, useToxiproxy } from "../helpers/toxiproxy.js";
import { timed } from "../helpers/timing.js";

/** The command timeout (1,000 ms) plus scheduling slack; auto-pipelining's queueing used to make it 2,000 ms. */
const BOUND_MS = 1_500;
const auth = { authorization: `Bearer ${token("t1")}` };

describe("gateway in a Redis black hole", () => {
  it("should answer every lookup and route with REGISTRY_UNAVAILABLE within the command timeout, then recover", { timeout: 60_000 }, async () => {
    const redis = await useRedisServer();
    const { toxiproxy } = await useToxiproxy({ seed: 3 });
    const proxy = await proxyTo(toxiproxy, "redis", `127.0.0.1:${redis.port}`);
    // Heartbeats every 200 ms keep commands in flight on each gateway's connection throughout.
    const [one, two] = await startGateways(2, `redis://${proxy.listen}`, { CONNECTION_TTL_MS: "6000", HEARTBEAT_INTERVAL_MS: "200" });
    const a = await connectClient(one!, token("t1"), { session_id: "s", agent_type: "a", pillar: "p" });
    const c = await connectClient(two!, token("t1"), { session_id: "s", agent_type: "c", pillar: "p" });

    const hole = await proxy.addToxic({ name: "hole", type: "timeout", stream: "downstream", toxicity: 1, attributes: { timeout: 0 } } as never);
    // Each round asks all three at once, so that none may wait behind another's timeout either; seven rounds of one
    // 1 s timeout keep the hole open past the 6 s TTL.
    for (let round = 0; round < 7; round++) {
      const [session, connection, route] = await Promise.all([
        timed(two!.fetch("/v1/sessions/s/connections", { headers: auth })),
        timed(two!.fetch(`/v1/connections/${a.websocketId}`, { headers: auth })),
        timed(c.request({ type: "route", id: round, session_id: "s", to: { websocket_id: a.websocketId }, payload: "x" }, 10_000)),
      ]);
      for (const [what, answer] of [["session lookup", session], ["connection lookup", connection]] as const) {
        expect(answer.value.status, what).toBe(503);
        expect(await answer.value.json(), what).toMatchObject({ error: { code: "REGISTRY_UNAVAILABLE" } });
        expect(answer.ms, `${what} round ${round}`).toBeLessThan(BOUND_MS);
      }
      expect(route.value).toMatchObject({ type: "error", id: round, code: "REGISTRY_UNAVAILABLE" });
      expect(route.ms, `route round ${round}`).toBeLessThan(BOUND_MS);
    }
    expect([a, c].every((client) => client.ws.readyState === client.ws.OPEN)).toBe(true);

    await hole.remove();
    await expect.poll(async () => (await two!.fetch("/v1/sessions/s/connections", { headers: auth })).status, { timeout: 15_000 }).toBe(200);
    // The hole (seven rounds of a 1 s timeout) outlasts the 6 s TTL, so a's record may have expired meanwhile:
    // its instance writes it again once Redis answers (reconciliation). A route before that finds nobody (delivered
    // 0), so wait until another instance finds a's record, then route.
    await expect.poll(async () => (await two!.fetch(`/v1/connections/${a.websocketId}`, { headers: auth })).status, { timeout: 15_000 }).toBe(200);
    // And until a's instance is ready: its channel subscribed again (a route published before that reaches nobody).
    await expect.poll(async () => (await one!.fetch("/readyz")).status, { timeout: 15_000 }).toBe(200);
    expect(await c.request({ type: "route", id: 9, session_id: "s", to: { websocket_id: a.websocketId }, payload: "healed" }, 10_000)).toMatchObject({ type: "ack", delivered: 1 });
  });

  it("should mark an ack partial when the holder delivered but its count cannot come back", { timeout: 60_000 }, async () => {
    const redis = await useRedisServer();
    const { toxiproxy } = await useToxiproxy({ seed: 4 });
    // One link per instance, as the harness builds it, so that only the holder's link is cut.
    const [holderLink, senderLink] = await Promise.all(
      ["holder", "sender"].map((name) => proxyTo(toxiproxy, name, `127.0.0.1:${redis.port}`)),
    );
    const env = { CONNECTION_TTL_MS: "10000", HEARTBEAT_INTERVAL_MS: "1000" };
    const [holder, sender] = await Promise.all([
      startGateway({ redisUrl: `redis://${holderLink!.listen}`, instanceId: "gw-1", env }),
      startGateway({ redisUrl: `redis://${senderLink!.listen}`, instanceId: "gw-2", env }),
    ]);
    const target = await connectClient(holder, token("t1"), { session_id: "s", agent_type: "a", pillar: "p" });
    const from = await connectClient(sender, token("t1"), { session_id: "s", agent_type: "b", pillar: "p" });
    expect(await from.request({ type: "route", id: 1, session_id: "s", to: { websocket_id: target.websocketId }, payload: "before" })).toEqual({ type: "ack", id: 1, delivered: 1 });

    // The holder still hears its channel (Redis to holder flows) but nothing it sends reaches Redis.
    await holderLink!.addToxic({ name: "mute", type: "timeout", stream: "upstream", toxicity: 1, attributes: { timeout: 0 } } as never);
    const ack = await from.request({ type: "route", id: 2, session_id: "s", to: { websocket_id: target.websocketId }, payload: "at the cut" }, 10_000);
    expect(await target.next((frame) => frame.id === 2)).toMatchObject({ type: "message", payload: "at the cut" });
    // Delivered, but unconfirmed: the count is a lower bound, and says so.
    expect(ack).toEqual({ type: "ack", id: 2, delivered: 0, partial: true });
  });

  it("should have a probe connect refused REGISTRY_UNAVAILABLE asked again until Redis answers", { timeout: 60_000 }, async () => {
    const redis = await useRedisServer();
    const [gateway] = await startGateways(1, redis.url);
    const admin = useRedisClient({ host: "127.0.0.1", port: redis.port });
    const options = { baseUrl: `ws://127.0.0.1:${gateway!.port}`, token: token("t1") };
    // Redis stands still (every client's commands held) for 1.3 s: the registry write of a connect times out (1 s)
    // and the gateway refuses it; the next attempt, 100 ms later, is answered once Redis moves again, within the
    // probe's retry window (2 s from the first refusal).
    expect(UNAVAILABLE_RETRY_WINDOW_MS).toBeGreaterThan(1_300 - 1_000 + 100);
    await admin.call("CLIENT", "PAUSE", "1300", "ALL");
    const once = await openProbeSocket({ ...options, sessionId: "refused" });
    expect(!once.ok && isRegistryUnavailable(once), JSON.stringify(once)).toBe(true);
    await admin.call("CLIENT", "PAUSE", "1300", "ALL");
    const { answer, retries } = await openProbeSocketWhileUnavailable({ ...options, sessionId: "asked-again" });
    expect(answer.ok, JSON.stringify(answer)).toBe(true);
    expect(retries).toBeGreaterThanOrEqual(1);
    if (answer.ok) answer.socket.ws.close(1000);
  });
});
