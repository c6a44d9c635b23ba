import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { signJwt } from "../../src/gateway/jwt.js";
import { startGateway, token, type TestGateway } from "../helpers/gateway.js";
import { connectClient, expectRefused } from "../helpers/wire-client.js";
import { startSuiteRedis, useRedisClient } from "../helpers/redis.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAX_MESSAGE_BYTES = 4_096;

let redis: StartedRedisServer;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startSuiteRedis();
  gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-protocol", env: { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) } }, true);
});

afterAll(async () => {
  await Promise.allSettled([gateway?.stop()]);
  await redis?.stop();
});

let sessionSeq = 0;
const newSession = () => `sess-${process.pid}-${++sessionSeq}`;
const auth = (tenant: string) => ({ authorization: `Bearer ${token(tenant)}` });

function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "gateway", "main.ts")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("gateway configuration", () => {
  it("should exit non-zero with a clear message when AUTH_SECRET is missing", async () => {
    const { code, output } = await runMain({ REDIS_URL: redis.url });
    expect(code).not.toBe(0);
    expect(output).toContain("AUTH_SECRET is required");
  });

  it("should name the variable of a malformed setting", async () => {
    const { code, output } = await runMain({ REDIS_URL: redis.url, AUTH_SECRET: "x", HEARTBEAT_INTERVAL_MS: "soon" });
    expect(code).toBe(2);
    expect(output).toContain("HEARTBEAT_INTERVAL_MS");
    const defect = await runMain({ REDIS_URL: redis.url, AUTH_SECRET: "x", TRAFFIC_COP_DEFECTS: "no-such-defect" });
    expect(defect.code).toBe(2);
    expect(defect.output).toContain("no-such-defect");
  });
});

/** Asserts that `target` refuses a token valid only from one minute ahead with 401, at the upgrade and on `/v1`. */
async function expectNbfRefused(target: TestGateway): Promise<void> {
  const session = newSession();
  const early = token("t1", { nbf: Math.floor(Date.now() / 1000) + 60 });
  const refused = await expectRefused(target, early, { session_id: session, agent_type: "a", pillar: "p" });
  expect([refused.status, JSON.parse(refused.body).error.code]).toEqual([401, "UNAUTHORIZED"]);
  const viaQuery = await expectRefused(target, early, { session_id: session, agent_type: "a", pillar: "p" }, "query");
  expect(viaQuery.status).toBe(401);
  for (const [path, init] of [
    [`/v1/sessions/${session}/connections`, {}],
    [`/v1/sessions/${session}/messages`, { method: "POST", body: JSON.stringify({ payload: 1 }) }],
    [`/v1/sessions/${session}/state`, {}],
  ] as const) {
    const res = await target.fetch(path, { ...init, headers: { authorization: `Bearer ${early}` } });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code], path).toEqual([401, "UNAUTHORIZED"]);
  }
}

describe("gateway upgrade", () => {
  it("should welcome a client after registering it, with the token in the header or the query", async () => {
    const session = newSession();
    const viaHeader = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const viaQuery = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "b", pillar: "p" }, { auth: "query" });
    expect(viaHeader.welcome).toMatchObject({ type: "welcome", instance_id: "gw-protocol", session_id: session, resumed: false });
    const res = await gateway.fetch(`/v1/connections/${viaQuery.websocketId}`, { headers: auth("t1") });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ websocket_id: viaQuery.websocketId, session_id: session, tenant_id: "t1", agent_type: "b", instance_id: "gw-protocol" });
  });

  it("should refuse bad, expired and missing tokens with 401", async () => {
    const query = { session_id: newSession(), agent_type: "a", pillar: "p" };
    expect((await expectRefused(gateway, undefined, query)).status).toBe(401);
    expect((await expectRefused(gateway, token("t1", {}, "wrong-secret"), query)).status).toBe(401);
    expect((await expectRefused(gateway, token("t1", { exp: Math.floor(Date.now() / 1000) - 5 }), query)).status).toBe(401);
    expect((await expectRefused(gateway, "not.a.jwt", query, "query")).status).toBe(401);
    expect((await expectRefused(gateway, signJwt({ exp: Math.floor(Date.now() / 1000) + 60 }, "test-secret-do-not-use"), query)).status).toBe(401);
  });

  it("should refuse a token whose nbf lies in the future, at the upgrade and on the HTTP API, and accept one within the leeway", async () => {
    await expectNbfRefused(gateway);
    const session = newSession();
    const nowS = Math.floor(Date.now() / 1000);
    // Within the stated 5 s leeway (docs/protocol.md, Tokens): accepted.
    const near = await connectClient(gateway, token("t1", { nbf: nowS + 2 }), { session_id: session, agent_type: "a", pillar: "p" });
    expect(near.welcome).toMatchObject({ type: "welcome", session_id: session });
    expect((await gateway.fetch(`/v1/sessions/${session}/connections`, { headers: { authorization: `Bearer ${token("t1", { nbf: nowS - 60 })}` } })).status).toBe(200);
  });

  it("should accept a future nbf under the ignore-nbf failpoint, so that the refusal above can fail", async () => {
    await using broken = await startGateway({ redisUrl: redis.url, instanceId: "gw-ignore-nbf", env: { TRAFFIC_COP_DEFECTS: "ignore-nbf" } }, true);
    await expect(expectNbfRefused(broken)).rejects.toThrow();
  });

  it("should refuse bad query strings with stable codes", async () => {
    const missing = await expectRefused(gateway, token("t1"), { agent_type: "a", pillar: "p" });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: "SESSION_ID_REQUIRED" } });
    const bad = await expectRefused(gateway, token("t1"), { session_id: "a:b{c}", agent_type: "a", pillar: "p" });
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    const noPillar = await expectRefused(gateway, token("t1"), { session_id: newSession(), agent_type: "a" });
    expect(noPillar.status).toBe(400);
    const badResume = await expectRefused(gateway, token("t1"), { session_id: newSession(), agent_type: "a", pillar: "p", websocket_id: "x".repeat(500) });
    expect(badResume.status).toBe(400);
  });

  it("should refuse a session pinned in the token to another session with 403", async () => {
    const refused = await expectRefused(gateway, token("t1", { session_id: "pinned" }), { session_id: newSession(), agent_type: "a", pillar: "p" });
    expect(refused.status).toBe(403);
  });
});

describe("gateway frames", () => {
  it("should answer every malformed frame with a stable error code and stay open", async () => {
    const session = newSession();
    const client = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const cases: Array<[string | Buffer, string]> = [
      ["{not json", "INVALID_MESSAGE"],
      ["[]", "INVALID_MESSAGE"],
      ['{"type":"teleport","id":1}', "INVALID_MESSAGE"],
      ['{"type":"route","id":2,"to":{}}', "SESSION_ID_REQUIRED"],
      ['{"type":"route","id":3,"session_id":"s","to":"everyone"}', "INVALID_MESSAGE"],
      ['{"type":"route","session_id":"s","to":{}}', "INVALID_MESSAGE"],
      ['{"type":"session_state","id":4,"set":{"k":5}}', "INVALID_MESSAGE"],
      ['{"type":"route","id":{"x":1},"session_id":"s","to":{}}', "INVALID_MESSAGE"],
    ];
    for (const [frame, code] of cases) {
      const before = client.frames.length;
      client.send(frame);
      const answer = await client.next(() => true, 5_000, before);
      expect(answer, String(frame)).toMatchObject({ type: "error", code });
    }
    const before = client.frames.length;
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.next(() => true, 5_000, before)).toMatchObject({ type: "error", code: "INVALID_MESSAGE" });
    expect(await client.request({ type: "ping", id: "p1" })).toEqual({ type: "pong", id: "p1" });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it("should answer an oversized frame with PAYLOAD_TOO_LARGE and close 1009", async () => {
    const client = await connectClient(gateway, token("t1"), { session_id: newSession(), agent_type: "a", pillar: "p" });
    client.send(JSON.stringify({ type: "ping", pad: "x".repeat(MAX_MESSAGE_BYTES) }));
    expect(await client.next((frame) => frame.type === "error")).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(await client.closed).toMatchObject({ code: 1009, reason: "PAYLOAD_TOO_LARGE" });
    const huge = await connectClient(gateway, token("t1"), { session_id: newSession(), agent_type: "a", pillar: "p" });
    huge.send("x".repeat(MAX_MESSAGE_BYTES * 3));
    expect((await huge.closed).code).toBe(1009);
    await expect.poll(() => gateway.metric("traffic_cop_errors_total", { code: "PAYLOAD_TOO_LARGE" })).toBeGreaterThanOrEqual(2);
  });

  it("should answer a flood with RATE_LIMITED and keep the socket usable", async () => {
    const client = await connectClient(gateway, token("t1"), { session_id: newSession(), agent_type: "a", pillar: "p" });
    for (let i = 0; i < 600; i++) client.send({ type: "ping", id: i });
    await client.next((frame) => frame.id === 599);
    const limited = client.frames.filter((frame) => frame.code === "RATE_LIMITED");
    expect(limited.length).toBeGreaterThan(0);
    expect(client.frames.filter((frame) => frame.type === "pong" || frame.code === "RATE_LIMITED")).toHaveLength(600);
    await expect.poll(async () => (await client.request({ type: "ping", id: `after-${Date.now()}` })).type, { timeout: 10_000 }).toBe("pong");
  });

  it("should route within a session, never back to the sender, and acknowledge with the delivered count", async () => {
    const session = newSession();
    const sender = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "agent", pillar: "p" });
    const agent = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "agent", pillar: "q" });
    const user = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "user", pillar: "p" });
    expect(await sender.request({ type: "route", id: "r1", session_id: session, to: { agent_type: "agent" }, payload: { n: 1 } })).toEqual({ type: "ack", id: "r1", delivered: 1 });
    expect(await agent.next((frame) => frame.type === "message")).toEqual({ type: "message", id: "r1", from: sender.websocketId, session_id: session, payload: { n: 1 } });
    expect(await sender.request({ type: "route", id: "r2", session_id: session, to: {}, payload: "all" })).toMatchObject({ delivered: 2 });
    expect(await sender.request({ type: "route", id: "r3", session_id: session, to: { websocket_id: user.websocketId }, payload: 3 })).toMatchObject({ delivered: 1 });
    expect(await sender.request({ type: "route", id: "r4", session_id: session, to: { pillar: "nowhere" }, payload: 4 })).toMatchObject({ delivered: 0 });
    expect(await sender.request({ type: "route", id: "r5", session_id: session, to: { websocket_id: "gone" }, payload: 5 })).toMatchObject({ type: "error", code: "NOT_FOUND" });
    expect(await sender.request({ type: "route", id: "r6", session_id: newSession(), to: {}, payload: 6 })).toMatchObject({ type: "error", code: "NOT_FOUND" });
    expect(sender.frames.filter((frame) => frame.type === "message")).toHaveLength(0);
    expect(user.frames.filter((frame) => frame.type === "message").map((frame) => frame.id)).toEqual(["r2", "r3"]);
  });

  it("should keep session state in Redis, over WebSocket and HTTP", async () => {
    const session = newSession();
    const client = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    expect(await client.request({ type: "session_state", id: 1, set: { step: "1", lang: "en" } })).toEqual({ type: "session_state", id: 1, session_id: session, state: { step: "1", lang: "en" } });
    const put = await gateway.fetch(`/v1/sessions/${session}/state`, { method: "PUT", headers: auth("t1"), body: JSON.stringify({ set: { step: "2" } }) });
    expect(await put.json()).toEqual({ session_id: session, state: { step: "2", lang: "en" } });
    expect(await client.request({ type: "session_state", id: 2 })).toMatchObject({ state: { step: "2", lang: "en" } });
    const foreign = await gateway.fetch(`/v1/sessions/${session}/state`, { headers: auth("t2") });
    expect(await foreign.json()).toEqual({ session_id: session, state: {} });
    const foreignPut = await gateway.fetch(`/v1/sessions/${session}/state`, { method: "PUT", headers: auth("t2"), body: JSON.stringify({ set: { evil: "1" } }) });
    const missingPut = await gateway.fetch(`/v1/sessions/${newSession()}/state`, { method: "PUT", headers: auth("t2"), body: JSON.stringify({ set: { evil: "1" } }) });
    expect(foreignPut.status).toBe(404);
    expect(await foreignPut.json()).toEqual(await missingPut.json());
  });
});

describe("gateway tenant isolation", () => {
  it("should refuse a connect or resume into another tenant's session with 403 and never welcome it", async () => {
    const session = newSession();
    const owner = await connectClient(gateway, token("owner"), { session_id: session, agent_type: "a", pillar: "p" });
    const connect = await expectRefused(gateway, token("intruder"), { session_id: session, agent_type: "a", pillar: "p" });
    expect(connect.status).toBe(403);
    const resume = await expectRefused(gateway, token("intruder"), { session_id: session, agent_type: "a", pillar: "p", websocket_id: owner.websocketId });
    expect(resume.status).toBe(403);
    const ownRecord = await gateway.fetch(`/v1/connections/${owner.websocketId}`, { headers: auth("owner") });
    expect(await ownRecord.json()).toMatchObject({ tenant_id: "owner", instance_id: "gw-protocol" });
  });

  it("should resume in one Redis round trip: the write script alone, no read of the id before it", async () => {
    const session = newSession();
    const query = { session_id: session, agent_type: "a", pillar: "p" };
    const first = await connectClient(gateway, token("t1"), query);
    const client = useRedisClient(redis);
    const monitor = await client.monitor();
    onTestFinished(() => void monitor.disconnect());
    /** The commands this test's resume sent (Lua's own calls come from source "lua"; the client sent the script). */
    const sent: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (source !== "lua" && args.some((arg) => arg.includes(first.websocketId))) sent.push(args);
    });
    const resumed = await connectClient(gateway, token("t1"), { ...query, websocket_id: first.websocketId });
    expect(resumed.welcome).toMatchObject({ websocket_id: first.websocketId, resumed: true });
    // MONITOR streams each command as Redis runs it: the write ran before the welcome, so it has reached the stream
    // by the time an ECHO sent now comes back on it.
    const marker = `resume-round-trip-${crypto.randomUUID()}`;
    const seen = new Promise<void>((resolve) => monitor.on("monitor", (_time: string, args: string[]) => args.includes(marker) && resolve()));
    await client.echo(marker);
    await seen;
    // A heartbeat's refresh may carry the id too (a script as well); a read (GET of the reverse index, HMGET of the
    // record) must not, and the write script must be there.
    expect(sent.map((args) => args[0]!.toLowerCase()).filter((name) => !name.startsWith("eval"))).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(1);
  });

  it("should never let a resume take over a websocket_id of another session, of any tenant", async () => {
    const session = newSession();
    const victim = await connectClient(gateway, token("owner"), { session_id: session, agent_type: "a", pillar: "p" });
    for (const tenant of ["intruder", "owner"]) {
      const other = await connectClient(gateway, token(tenant), { session_id: newSession(), agent_type: "a", pillar: "p", websocket_id: victim.websocketId });
      expect(other.welcome.websocket_id).not.toBe(victim.websocketId);
      expect(other.welcome.resumed).toBe(false);
    }
    const record = await gateway.fetch(`/v1/connections/${victim.websocketId}`, { headers: auth("owner") });
    expect(await record.json()).toMatchObject({ websocket_id: victim.websocketId, session_id: session });
    expect(victim.ws.readyState).toBe(victim.ws.OPEN);
  });

  it("should answer another tenant's lookups and routes exactly as missing ones, over HTTP and WebSocket", async () => {
    const session = newSession();
    const owner = await connectClient(gateway, token("owner"), { session_id: session, agent_type: "a", pillar: "p" });
    const intruder = await connectClient(gateway, token("intruder"), { session_id: newSession(), agent_type: "a", pillar: "p" });
    const pairs: Array<[string, string, RequestInit?]> = [
      [`/v1/sessions/${session}/connections`, `/v1/sessions/${newSession()}/connections`],
      [`/v1/connections/${owner.websocketId}`, `/v1/connections/${crypto.randomUUID()}`],
      [`/v1/sessions/${session}/messages`, `/v1/sessions/${newSession()}/messages`, { method: "POST", body: JSON.stringify({ to: {}, payload: 1 }) }],
    ];
    for (const [foreign, missing, init] of pairs) {
      const a = await gateway.fetch(foreign, { ...init, headers: auth("intruder") });
      const b = await gateway.fetch(missing, { ...init, headers: auth("intruder") });
      expect([a.status, await a.text()], foreign).toEqual([b.status, await b.text()]);
      expect(a.status).toBe(404);
    }
    const viaWs = await intruder.request({ type: "route", id: "x1", session_id: session, to: {}, payload: "hi" });
    const viaWsMissing = await intruder.request({ type: "route", id: "x1", session_id: newSession(), to: {}, payload: "hi" });
    expect(viaWs).toEqual(viaWsMissing);
    expect(await intruder.request({ type: "route", id: "x2", session_id: session, to: { websocket_id: owner.websocketId }, payload: "hi" })).toMatchObject({ code: "NOT_FOUND" });
    expect(owner.frames.filter((frame) => frame.type === "message")).toHaveLength(0);
    const own = await gateway.fetch(`/v1/sessions/${session}/connections?agent_type=a`, { headers: auth("owner") });
    expect(((await own.json()) as { connections: unknown[] }).connections).toHaveLength(1);
  });
});

describe("gateway HTTP API", () => {
  it("should answer bad requests with stable codes and never crash", async () => {
    const session = newSession();
    await connectClient(gateway, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const cases: Array<[string, RequestInit, number, string]> = [
      ["/nope", {}, 404, "NOT_FOUND"],
      ["/v1/sessions", { headers: auth("t1") }, 404, "NOT_FOUND"],
      [`/v1/sessions/${session}/connections`, {}, 401, "UNAUTHORIZED"],
      [`/v1/sessions/${session}/connections`, { headers: { authorization: "Basic abc" } }, 401, "UNAUTHORIZED"],
      [`/v1/sessions/${session}/connections`, { method: "DELETE", headers: auth("t1") }, 405, "METHOD_NOT_ALLOWED"],
      [`/v1/sessions/${session}/connections?agent_type=a:b`, { headers: auth("t1") }, 400, "INVALID_REQUEST"],
      [`/v1/sessions/${session}/messages`, { method: "POST", headers: auth("t1"), body: "{oops" }, 400, "INVALID_REQUEST"],
      [`/v1/sessions/${session}/messages`, { method: "POST", headers: auth("t1"), body: "[1]" }, 400, "INVALID_REQUEST"],
      [`/v1/sessions/${session}/messages`, { method: "POST", headers: auth("t1"), body: JSON.stringify({ to: { websocket_id: 5 } }) }, 400, "INVALID_REQUEST"],
      [`/v1/sessions/${session}/messages`, { method: "POST", headers: auth("t1"), body: "x".repeat(MAX_MESSAGE_BYTES + 1) }, 413, "PAYLOAD_TOO_LARGE"],
      [`/v1/sessions/%ZZ/connections`, { headers: auth("t1") }, 400, "INVALID_REQUEST"],
      [`/v1/sessions/${session}/state`, { method: "PUT", headers: auth("t1"), body: JSON.stringify({ set: [1] }) }, 400, "INVALID_REQUEST"],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await gateway.fetch(path, init);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code], path).toEqual([status, code]);
    }
    expect((await gateway.fetch("/healthz")).status).toBe(200);
    expect((await gateway.fetch("/readyz")).status).toBe(200);
  });

  it("should post messages to a session's connections and expose Prometheus metrics", async () => {
    const session = newSession();
    const client = await connectClient(gateway, token("t1"), { session_id: session, agent_type: "a", pillar: "p" });
    const res = await gateway.fetch(`/v1/sessions/${session}/messages`, { method: "POST", headers: auth("t1"), body: JSON.stringify({ to: { agent_type: "a" }, payload: { hello: 1 } }) });
    expect(await res.json()).toMatchObject({ delivered: 1 });
    expect(await client.next((frame) => frame.type === "message")).toMatchObject({ from: null, session_id: session, payload: { hello: 1 } });
    const text = await (await gateway.fetch("/metrics")).text();
    for (const name of [
      "traffic_cop_connections{",
      "traffic_cop_registrations_total",
      "traffic_cop_heartbeats_total",
      'traffic_cop_routes_total{path="local"}',
      "traffic_cop_errors_total",
      "traffic_cop_redis_command_duration_seconds_bucket",
      "traffic_cop_reconciliations_total",
      "traffic_cop_drains_total",
    ]) {
      expect(text).toContain(name);
    }
    expect(await gateway.metric("traffic_cop_connections", { tenant: "t1" })).toBeGreaterThanOrEqual(1);
  });
});
