import { describe, expect, it } from "vitest";
import { mintClientToken } from "../../harness/common/jwt.js";
import { startConnectionFlood } from "../../harness/load/connection-flood.js";
import { startHttpLoad } from "../../harness/load/http-load.js";
import { startGateway, TEST_AUTH_SECRET } from "../helpers/gateway.js";
import { useRedisServer } from "../helpers/redis.js";

describe("load drivers against a real gateway", { timeout: 60_000 }, () => {
  it("should flood connections, count welcomes and refusals, and flood the lookup and route API", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const target = `ws://127.0.0.1:${gateway.port}`;

    const flood = await startConnectionFlood({ target, count: 300, concurrency: 50, authSecret: TEST_AUTH_SECRET, tenantId: "t-load", sessionId: "s-flood", sourceAddresses: ["127.0.0.1", "127.0.0.2"] }).result;
    expect(flood).toMatchObject({ attempted: 300, opened: 300, welcomed: 300, refused: {}, errors: {}, aborted: false });
    expect(flood.latency.count).toBe(300);
    expect(flood.connectsPerSecond).toBeGreaterThan(0);

    const refused = await startConnectionFlood({ target, count: 20, authSecret: "wrong-secret" }).result;
    expect(refused).toMatchObject({ attempted: 20, welcomed: 0, refused: { "401": 20 } });

    // Hold 40 sockets in one session while both HTTP floods run.
    const release = new AbortController();
    const held = startConnectionFlood({ target, count: 40, hold: true, holdMs: 60_000, timeoutMs: 60_000, authSecret: TEST_AUTH_SECRET, tenantId: "t-load", sessionId: "s-held", agentType: "planner" }, release.signal);
    await expect.poll(async () => (await gateway.fetch("/v1/sessions/s-held/connections", { headers: { authorization: `Bearer ${mintClientToken(TEST_AUTH_SECRET, { tenantId: "t-load" })}` } })).status, { timeout: 10_000 }).toBe(200);
    const token = mintClientToken(TEST_AUTH_SECRET, { tenantId: "t-load" });
    const lookup = await startHttpLoad({ baseUrl: gateway.url, kind: "lookup", sessionIds: ["s-held"], token, amount: 500, connections: 5 }).result;
    expect(lookup.requests).toBe(500);
    expect(lookup.statusCodes).toEqual({ "200": 500 });
    expect(lookup.latency.p99).toBeGreaterThan(0);
    const route = await startHttpLoad({ baseUrl: gateway.url, kind: "route", sessionIds: ["s-held"], token, amount: 200, connections: 4, to: { agent_type: "planner" } }).result;
    expect(route.statusCodes).toEqual({ "200": 200 });
    const otherTenant = await startHttpLoad({ baseUrl: gateway.url, kind: "lookup", sessionIds: ["s-held"], token: mintClientToken(TEST_AUTH_SECRET, { tenantId: "t-other" }), amount: 50, connections: 2 }).result;
    expect(otherTenant.statusCodes).toEqual({ "404": 50 });
    release.abort();
    const heldStats = await held.result;
    expect(heldStats).toMatchObject({ welcomed: 40, peakOpen: 40, aborted: true });
  });

  it("should end early on abort, and refuse bad options with HARNESS_ERR_INVALID_OPTIONS", async () => {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const token = mintClientToken(TEST_AUTH_SECRET, { tenantId: "t" });
    const controller = new AbortController();
    const load = startHttpLoad({ baseUrl: gateway.url, kind: "lookup", sessionIds: ["nobody"], token, durationS: 60, connections: 2 }, controller.signal);
    const hold = new AbortController();
    const flood = startConnectionFlood({ target: `ws://127.0.0.1:${gateway.port}`, count: 10, hold: true, holdMs: 60_000, timeoutMs: 90_000, authSecret: TEST_AUTH_SECRET, tenantId: "t", sessionId: "s-hold" }, hold.signal);
    await expect
      .poll(async () => {
        const res = await gateway.fetch("/v1/sessions/s-hold/connections", { headers: { authorization: `Bearer ${token}` } });
        return res.ok ? ((await res.json()) as { connections: unknown[] }).connections.length : 0;
      }, { timeout: 10_000 })
      .toBe(10);
    controller.abort();
    hold.abort();
    const stats = await load.result;
    expect(stats.aborted).toBe(true);
    expect(stats.durationMs).toBeLessThan(30_000);
    expect(stats.statusCodes).toEqual(stats.requests > 0 ? { "404": stats.requests } : {});
    expect((await flood.result).aborted).toBe(true);

    expect(() => startHttpLoad({ baseUrl: "http://10.1.2.3:80", kind: "lookup", sessionIds: ["s"], token })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
    expect(() => startHttpLoad({ baseUrl: gateway.url, kind: "lookup", sessionIds: ["s"], token, durationS: 10_000 })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
    expect(() => startConnectionFlood({ target: `ws://127.0.0.1:${gateway.port}`, count: 9_000, hold: true, authSecret: "s" })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
    expect(() => startConnectionFlood({ target: "ws://192.168.0.1:80", count: 1, authSecret: "s" })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
  });
});
