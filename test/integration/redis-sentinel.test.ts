import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { LocalRuntime, type StartedLocalRuntime } from "../../harness/runtime/local-runtime.js";
import { probeHttp } from "../../harness/runtime/readiness.js";
import type { RuntimeEvent } from "../../harness/runtime/runtime.js";
import { signJwt } from "../../src/gateway/jwt.js";
import { connectClient } from "../helpers/wire-client.js";

/**
 * How long the gateways may take to serve routes again after the promotion, ms: ioredis learns of the new primary
 * from the sentinels' +switch-master at once, or on its next reconnect (capped backoff 500 ms), and the gateway's
 * subscriber must resubscribe; 5 s is that with room for 2 loaded cores.
 */
const RECOVERY_BOUND_MS = 5_000;

async function useSentinelRuntime(events: RuntimeEvent[] = []): Promise<{ runtime: StartedLocalRuntime; runId: string }> {
  const runId = `test-sentinel-${randomBytes(3).toString("hex")}`;
  const runtime = await new LocalRuntime({ runId, instances: 2, redis: "sentinel", connectionTtlMs: 4_000, heartbeatIntervalMs: 1_000, onEvent: (e) => events.push(e) }).start();
  onTestFinished(async () => {
    const ports = runtime.instances.map((i) => i.port);
    await runtime.stop();
    await expect.poll(() => findLeftovers({ runId, ports }), { timeout: 5_000 }).toEqual({ processes: [], listening: [] });
  });
  return { runtime, runId };
}

describe("LocalRuntime with --redis sentinel", () => {
  it("should keep serving routes and lookups across a primary failover, the gateways following the sentinels", { timeout: 90_000 }, async () => {
    const events: RuntimeEvent[] = [];
    const { runtime } = await useSentinelRuntime(events);
    expect(runtime.capabilities.redisFailover).toBe(true);
    expect(runtime.redis.sentinels).toHaveLength(3);
    const secret = runtime.authSecret;
    const tok = signJwt({ tenant_id: "t1", exp: Math.floor(Date.now() / 1000) + 600 }, secret);
    const ws = (id: string) => ({ wsUrl: `${runtime.instance(id).wsUrl}/ws` });
    const a = await connectClient(ws("gw-1"), tok, { session_id: "s1", agent_type: "a", pillar: "p" });
    const b = await connectClient(ws("gw-2"), tok, { session_id: "s1", agent_type: "b", pillar: "p" });
    expect(await a.request({ type: "route", id: 1, session_id: "s1", to: { agent_type: "b" }, payload: 1 })).toEqual({ type: "ack", id: 1, delivered: 1 });

    const report = await runtime.failoverRedis();
    expect(report).toMatchObject({ promotion_ms: expect.any(Number), rejoin_ms: expect.any(Number) });
    expect(report.promoted).not.toBe(report.killed);
    expect(events.some((e) => e.type === "redis_failover")).toBe(true);

    // Served again within the bound: a cross-instance route (pub/sub on the new primary) and a lookup.
    let id = 100;
    const t0 = Date.now();
    await expect
      .poll(async () => (await a.request({ type: "route", id: ++id, session_id: "s1", to: { agent_type: "b" }, payload: id }).catch((e) => e)), { timeout: RECOVERY_BOUND_MS, interval: 100 })
      .toMatchObject({ type: "ack", delivered: 1 });
    const recoveredMs = Date.now() - t0;
    await expect
      .poll(async () => (await fetch(`${runtime.instance("gw-2").httpUrl}/v1/connections/${a.websocketId}`, { headers: { authorization: `Bearer ${tok}` } })).status, { timeout: RECOVERY_BOUND_MS, interval: 100 })
      .toBe(200);
    console.log(`sentinel failover: promotion ${report.promotion_ms} ms, rejoin ${report.rejoin_ms} ms, lag ${report.replication_lag_bytes} B, routes again ${recoveredMs} ms after promotion`);
    a.close();
    b.close();
  });

  it("should keep the proxies on the path: disabling an instance's proxies makes it unready, though the sentinels stay reachable", { timeout: 60_000 }, async () => {
    const { runtime } = await useSentinelRuntime();
    const gw1 = runtime.instance("gw-1");
    expect(runtime.proxiesOf("gw-1")).toHaveLength(2);
    for (const proxy of runtime.proxiesOf("gw-1")) await proxy.setEnabled(false);
    await expect.poll(async () => (await probeHttp(`${gw1.httpUrl}/readyz`)).status, { timeout: 10_000, interval: 100 }).toBe(503);
    expect((await probeHttp(`${runtime.instance("gw-2").httpUrl}/readyz`)).status).toBe(200);
    for (const proxy of runtime.proxiesOf("gw-1")) await proxy.setEnabled(true);
    await expect.poll(async () => (await probeHttp(`${gw1.httpUrl}/readyz`)).status, { timeout: 10_000, interval: 100 }).toBe(200);
  });
});
