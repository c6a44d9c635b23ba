import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { startGateway, token, type TestGateway } from "../helpers/gateway.js";
import { connectClient } from "../helpers/wire-client.js";
import { startSuiteRedis } from "../helpers/redis.js";

/**
 * The negative controls: each `TRAFFIC_COP_DEFECTS` variant must be observable by the check it exists for, next to
 * a correct gateway (the control) doing the same thing.
 */
const CONNECTION_TTL_MS = 3_000;
const ENV = { CONNECTION_TTL_MS: String(CONNECTION_TTL_MS), HEARTBEAT_INTERVAL_MS: "1000" };
/** How long an absence is observed after the control's equivalent arrived. */
const OBSERVE_MS = 500;

let redis: StartedRedisServer;
let controls: TestGateway[] = [];
let registry: RedisConnectionRegistry;

beforeAll(async () => {
  redis = await startSuiteRedis();
  controls = await Promise.all([1, 2].map((i) => startGateway({ redisUrl: redis.url, instanceId: `ctl-${i}`, env: ENV }, true)));
  registry = RedisConnectionRegistry.fromUrl(redis.url);
});

afterAll(async () => {
  await registry?.close();
  await Promise.allSettled(controls.map((gateway) => gateway.stop()));
  await redis?.stop();
});

const defective = (instanceId: string, defects: string) => startGateway({ redisUrl: redis.url, instanceId, env: { ...ENV, TRAFFIC_COP_DEFECTS: defects } });
const auth = (tenant: string) => ({ authorization: `Bearer ${token(tenant)}` });
const observe = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("gateway negative controls (TRAFFIC_COP_DEFECTS)", () => {
  it("no-unregister: should leave the record of a closed connection behind", async () => {
    const broken = await defective("def-no-unregister", "no-unregister");
    const good = await connectClient(controls[0]!, token("t1"), { session_id: "nu", agent_type: "good", pillar: "p" });
    const bad = await connectClient(broken, token("t1"), { session_id: "nu", agent_type: "bad", pillar: "p" });
    await Promise.all([good.close(), bad.close()]);
    await expect.poll(() => registry.getConnection("t1", "nu", good.websocketId)).toBeNull();
    await expect.poll(() => broken.metric("traffic_cop_connections")).toBe(0);
    expect(await registry.getConnection("t1", "nu", bad.websocketId)).toMatchObject({ instance_id: "def-no-unregister" });
  });

  it("no-resume: should hand out a new websocket_id instead of resuming", async () => {
    const broken = await defective("def-no-resume", "no-resume");
    const query = { session_id: "nr", agent_type: "a", pillar: "p" };
    const first = await connectClient(controls[0]!, token("t1"), query);
    const control = await connectClient(controls[1]!, token("t1"), { ...query, websocket_id: first.websocketId });
    expect(control.welcome).toMatchObject({ websocket_id: first.websocketId, resumed: true });
    const again = await connectClient(broken, token("t1"), { ...query, websocket_id: first.websocketId });
    expect(again.welcome.websocket_id).not.toBe(first.websocketId);
    expect(again.welcome.resumed).toBe(false);
  });

  it("no-tenant-check: should let another tenant look up and route into a session", async () => {
    const broken = await defective("def-no-tenant-check", "no-tenant-check");
    const owner = await connectClient(controls[0]!, token("owner"), { session_id: "ntc", agent_type: "a", pillar: "p" });
    const control = await controls[1]!.fetch("/v1/sessions/ntc/connections", { headers: auth("intruder") });
    expect(control.status).toBe(404);
    const leaked = await broken.fetch("/v1/sessions/ntc/connections", { headers: auth("intruder") });
    expect(leaked.status).toBe(200);
    expect(((await leaked.json()) as { connections: unknown[] }).connections).toEqual([expect.objectContaining({ websocket_id: owner.websocketId, tenant_id: "owner" })]);
    const reverse = await broken.fetch(`/v1/connections/${owner.websocketId}`, { headers: auth("intruder") });
    expect(reverse.status).toBe(200);
    const intruder = await connectClient(broken, token("intruder"), { session_id: "ntc-other", agent_type: "a", pillar: "p" });
    expect(await intruder.request({ type: "route", id: 1, session_id: "ntc", to: {}, payload: "leak" })).toMatchObject({ type: "ack", delivered: 1 });
    expect(await owner.next((frame) => frame.type === "message")).toMatchObject({ payload: "leak" });
  });

  it("drop-remote: should acknowledge remote routes that never arrive", async () => {
    const brokenPair = await Promise.all([1, 2].map((i) => defective(`def-drop-remote-${i}`, "drop-remote")));
    const [sender, target] = await Promise.all([
      connectClient(brokenPair[0]!, token("t1"), { session_id: "dr", agent_type: "s", pillar: "p" }),
      connectClient(brokenPair[1]!, token("t1"), { session_id: "dr", agent_type: "t", pillar: "p" }),
    ]);
    const [controlSender, controlTarget] = await Promise.all([
      connectClient(controls[0]!, token("t1"), { session_id: "dr-control", agent_type: "s", pillar: "p" }),
      connectClient(controls[1]!, token("t1"), { session_id: "dr-control", agent_type: "t", pillar: "p" }),
    ]);
    expect(await sender.request({ type: "route", id: "lost", session_id: "dr", to: { agent_type: "t" }, payload: 1 })).toMatchObject({ type: "ack", delivered: 1 });
    expect(await controlSender.request({ type: "route", id: "kept", session_id: "dr-control", to: { agent_type: "t" }, payload: 1 })).toMatchObject({ delivered: 1 });
    await controlTarget.next((frame) => frame.id === "kept");
    await observe(OBSERVE_MS);
    expect(target.frames.filter((frame) => frame.type === "message")).toEqual([]);
  });

  it("no-heartbeat: should let the record of a live connection expire", { timeout: 20_000 }, async () => {
    const broken = await defective("def-no-heartbeat", "no-heartbeat");
    const good = await connectClient(controls[0]!, token("t1"), { session_id: "nh", agent_type: "good", pillar: "p" });
    const bad = await connectClient(broken, token("t1"), { session_id: "nh", agent_type: "bad", pillar: "p" });
    await expect.poll(() => registry.getConnection("t1", "nh", bad.websocketId), { timeout: CONNECTION_TTL_MS * 3, interval: 100 }).toBeNull();
    expect(bad.ws.readyState).toBe(bad.ws.OPEN);
    expect(await registry.getConnection("t1", "nh", good.websocketId)).toMatchObject({ instance_id: "ctl-1" });
  });

  it("REGISTRY=memory: should not see connections held by another instance", async () => {
    const memory = await Promise.all([1, 2].map((i) => startGateway({ redisUrl: redis.url, instanceId: `mem-${i}`, env: { ...ENV, REGISTRY: "memory" } })));
    const client = await connectClient(memory[0]!, token("t1"), { session_id: "mem", agent_type: "a", pillar: "p" });
    expect((await memory[0]!.fetch(`/v1/connections/${client.websocketId}`, { headers: auth("t1") })).status).toBe(200);
    expect((await memory[1]!.fetch(`/v1/connections/${client.websocketId}`, { headers: auth("t1") })).status).toBe(404);
  });
});
