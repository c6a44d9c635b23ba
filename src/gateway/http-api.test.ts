import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { MemoryConnectionRegistry } from "../registry/memory-connection-registry.js";
import { LocalClusterBus } from "./cluster-bus.js";
import { ConnectionTable } from "./connection-table.js";
import { NO_FAILPOINTS } from "./failpoints.js";
import { httpRequestListener, type HttpApiHost } from "./http-api.js";
import { signJwt } from "./jwt.js";
import { GatewayMetrics } from "./metrics.js";
import { Router } from "./router.js";

const SECRET = "http-api-test-secret";

/** Serves the HTTP API over a host made of a memory registry and a router: no gateway server involved. */
async function serve(ready = true): Promise<{ url: string; registry: MemoryConnectionRegistry; metrics: GatewayMetrics }> {
  const registry = new MemoryConnectionRegistry();
  const metrics = new GatewayMetrics(() => new Map(), () => true);
  const router = new Router({
    instanceId: "gw-1",
    registry,
    bus: new LocalClusterBus(),
    connections: new ConnectionTable(),
    metrics,
    failpoints: NO_FAILPOINTS,
    remoteAckTimeoutMs: 1_000,
  });
  const host: HttpApiHost = {
    instanceId: "gw-1",
    authSecret: SECRET,
    maxMessageBytes: 1_024,
    metrics,
    sessions: registry,
    readiness: () => ({ ready, state: ready ? "accepting" : "draining", redis: true }),
    findConnection: (tenantId, websocketId) => router.findConnection(tenantId, websocketId),
    sessionConnections: (tenantId, sessionId) => router.sessionConnections(tenantId, sessionId),
    route: (...args) => router.route(...args),
  };
  const http = createServer(httpRequestListener(host));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => http.close(() => resolve())));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, registry, metrics };
}

function bearer(tenantId: string): { authorization: string } {
  return { authorization: `Bearer ${signJwt({ tenant_id: tenantId, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET)}` };
}

const RECORD: ConnectionRecord = {
  websocket_id: "w1",
  session_id: "s1",
  tenant_id: "t1",
  agent_type: "a",
  pillar: "p",
  instance_id: "gw-2",
  connected_at: 1,
  last_activity_at: 1,
};

describe("HTTP API", () => {
  it("should answer health and readiness from the host alone", async () => {
    const up = await serve(true);
    expect(await (await fetch(`${up.url}/healthz`)).json()).toEqual({ status: "ok", instance_id: "gw-1" });
    const readyz = await fetch(`${up.url}/readyz`);
    expect([readyz.status, await readyz.json()]).toEqual([200, { ready: true, state: "accepting", redis: true, instance_id: "gw-1" }]);
    const down = await serve(false);
    expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
  });

  it("should look up, write state and count errors for the caller's tenant only", async () => {
    const { url, registry, metrics } = await serve();
    const now = Date.now();
    await registry.register({ ...RECORD, connected_at: now, last_activity_at: now });
    const mine = await fetch(`${url}/v1/connections/w1`, { headers: bearer("t1") });
    expect([mine.status, ((await mine.json()) as ConnectionRecord).session_id]).toEqual([200, "s1"]);
    const foreign = await fetch(`${url}/v1/connections/w1`, { headers: bearer("t2") });
    expect([foreign.status, await foreign.json()]).toEqual([404, { error: { code: "NOT_FOUND", message: "no such connection" } }]);
    const put = await fetch(`${url}/v1/sessions/s1/state`, { method: "PUT", headers: { ...bearer("t1"), "content-type": "application/json" }, body: JSON.stringify({ set: { k: "v" } }) });
    expect(await put.json()).toEqual({ session_id: "s1", state: { k: "v" } });
    const foreignPut = await fetch(`${url}/v1/sessions/s1/state`, { method: "PUT", headers: bearer("t2"), body: JSON.stringify({ set: { k: "x" } }) });
    expect(foreignPut.status).toBe(404);
    expect(await registry.getSessionState("t1", "s1")).toEqual({ k: "v" });
    expect((await fetch(`${url}/v1/sessions/s1/connections`)).status).toBe(401);
    expect(metrics.errors.get({ code: "NOT_FOUND" })).toBe(2);
    expect(metrics.errors.get({ code: "UNAUTHORIZED" })).toBe(1);
  });
});
