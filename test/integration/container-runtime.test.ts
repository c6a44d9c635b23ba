/**
 * The containers runtime against a real Docker engine: one topology for the common operations (starting one costs
 * a few seconds), every behaviour of the `StartedRuntime` interface in turn, then teardown; then the client-link
 * and clock-skew nemeses on two topologies of their own (client proxies, and failpoints for the negative
 * controls). The cases only use the interface, so they can move into the shared runtime contract suite. A missing
 * engine fails this file (CI installs and starts one in .ci/run): it does not skip.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { probeClockSkew } from "../../harness/checks/clock-skew.js";
import { judgeHalfOpenCleanup, REMOVAL_WINDOW_MS, type InstanceRecordSample } from "../../harness/checks/half-open-cleanup.js";
import { mintClientToken } from "../../harness/common/jwt.js";
import { probeTcp } from "../../harness/common/tcp-probe.js";
import { FaultRunner, type FaultEvent, type ResolvedFault } from "../../harness/faults/fault-runner.js";
import { Fault } from "../../harness/faults/fault.js";
import { RegistryReader } from "../../harness/recorder/registry-reader.js";
import { ContainerRuntime } from "../../harness/runtime/container-runtime.js";
import type { StartedContainerRuntime } from "../../harness/runtime/started-container-runtime.js";
import { listLabelledObjects, sweepDeadRunObjects } from "../../harness/runtime/containers/container-sweep.js";
import { requireDockerEngine } from "../../harness/runtime/containers/docker-engine.js";
import { IMAGES, LABELS } from "../../harness/runtime/containers/images.js";
import { probeHttp } from "../../harness/runtime/readiness.js";
import { redisCommand } from "../../harness/runtime/redis-server.js";
import type { RuntimeEvent } from "../../harness/runtime/runtime.js";
import { REPO_ROOT, resolveSutDefinition } from "../../harness/runtime/sut.js";

const run = promisify(execFile);
/** The gateway's Redis command timeout is 1000 ms; a lookup in a partition must fail within this. */
const DEGRADED_LOOKUP_BOUND_MS = 1_500;
/** Ready again after a restart or a heal, well within a client's reconnect bound. */
const READY_AGAIN_BOUND_MS = 10_000;

interface Client {
  socket: WebSocket;
  closed: () => boolean;
}

async function connectClient(rt: StartedContainerRuntime, instance: string, session: string): Promise<Client> {
  const token = mintClientToken(rt.authSecret, { tenantId: "t-runtime", sessionId: session });
  const socket = new WebSocket(`${rt.instance(instance).wsUrl}${rt.sut.wsPath}?session_id=${session}&agent_type=probe&pillar=runtime&token=${token}`);
  let closed = false;
  socket.on("close", () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.on("message", (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === "welcome") resolve();
    });
    socket.once("error", reject);
  });
  return { socket, closed: () => closed };
}

async function lookup(rt: StartedContainerRuntime, instance: string): Promise<{ status: number; code?: string; ms: number }> {
  const token = mintClientToken(rt.authSecret, { tenantId: "t-runtime" });
  const t0 = performance.now();
  // A well-formed id that no connection has: answering it takes a Redis round trip.
  const response = await fetch(`${rt.instance(instance).httpUrl}/v1/connections/${randomUUID()}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, ...(body.error?.code ? { code: body.error.code } : {}), ms: performance.now() - t0 };
}

const readyStatus = async (rt: StartedContainerRuntime, id: string) => (await probeHttp(`${rt.instance(id).httpUrl}/readyz`, 1_000)).status;

describe.sequential("ContainerRuntime", { timeout: 60_000 }, () => {
  const runId = `test-ctr-${randomBytes(3).toString("hex")}`;
  const events: RuntimeEvent[] = [];
  let rt: StartedContainerRuntime;

  beforeAll(async () => {
    await requireDockerEngine();
    rt = await new ContainerRuntime({ runId, instances: 3, heartbeatIntervalMs: 1_000, connectionTtlMs: 10_000, drainTimeoutMs: 2_000, onEvent: (e) => events.push(e) }).start();
  }, 120_000);

  afterAll(async () => {
    await rt?.stop();
  });

  it("should start every instance ready on a port published on 127.0.0.1 only, and label everything with the run", async () => {
    expect(rt.kind).toBe("containers");
    expect(rt.instances.map((i) => i.id)).toEqual(["gw-1", "gw-2", "gw-3"]);
    for (const instance of rt.instances) {
      expect(instance.httpUrl).toBe(`http://127.0.0.1:${instance.port}`);
      expect(instance.state).toBe("started");
      expect(await readyStatus(rt, instance.id)).toBe(200);
    }
    expect(await redisCommand("127.0.0.1", rt.redis.nodes[0]!.port, "PING")).toContain("PONG");
    expect(await rt.toxiproxy.proxyNames()).toEqual(expect.arrayContaining(rt.instances.flatMap((i) => i.proxies)));
    const objects = await listLabelledObjects(runId);
    expect(objects.filter((o) => o.kind === "container")).toHaveLength(5);
    expect(objects.filter((o) => o.kind === "network")).toHaveLength(2);
    for (const object of objects) expect(object.ownerPid).toBe(process.pid);
    const { stdout } = await run("docker", ["inspect", "--format", "{{json .HostConfig.PortBindings}}", ...objects.filter((o) => o.kind === "container").map((o) => o.id)]);
    for (const line of stdout.trim().split("\n")) {
      for (const bindings of Object.values(JSON.parse(line) as Record<string, { HostIp: string }[]>)) expect(bindings.map((b) => b.HostIp)).toEqual(["127.0.0.1"]);
    }
    const started = events.find((e) => e.type === "topology_started");
    expect(started?.detail).toMatchObject({ runtime: "containers", images: { gateway: IMAGES.gateway, redis: IMAGES.redis }, toxiproxy: rt.toxiproxyImage.kind });
  });

  it("should kill an instance with SIGKILL and start it again on the same published port", async () => {
    const before = rt.instance("gw-1");
    expect(await rt.killInstance("gw-1")).toEqual({ code: null, signal: "SIGKILL", expected: true });
    expect(rt.liveInstanceIds()).toEqual(["gw-2", "gw-3"]);
    expect(await probeTcp("127.0.0.1", before.port)).not.toBe("accepted");
    const after = await rt.startInstance("gw-1");
    expect(after).toMatchObject({ port: before.port, state: "started", generation: before.generation + 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(await readyStatus(rt, "gw-1")).toBe(200);
  });

  it("should stop an instance with a SIGTERM drain that exits 0, and start it again", async () => {
    const client = await connectClient(rt, "gw-2", "s-drain");
    expect(await rt.stopInstance("gw-2")).toEqual({ code: 0, signal: null, expected: true });
    await expect.poll(() => client.closed(), { timeout: 5_000 }).toBe(true);
    expect((await rt.restartInstance("gw-2", "kill")).state).toBe("started");
    await expect(rt.startInstance("gw-2")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    expect(await readyStatus(rt, "gw-2")).toBe(200);
  });

  it("should restart Redis with data loss on the same address, and the gateways recover", async () => {
    const { port } = rt.redis.nodes[0]!;
    expect(await redisCommand("127.0.0.1", port, "SET runtime-test-key 1")).toContain("OK");
    await rt.restartRedis();
    expect(await redisCommand("127.0.0.1", port, "EXISTS runtime-test-key")).toMatch(/^:0\s*$/);
    expect(events.filter((e) => e.type === "redis_restart").map((e) => e.detail?.phase)).toEqual(["killed", "started"]);
    for (const id of ["gw-1", "gw-2", "gw-3"]) await expect.poll(() => readyStatus(rt, id), { timeout: READY_AGAIN_BOUND_MS }).toBe(200);
  });

  it("should apply a proxy toxic between one instance and Redis only", async () => {
    const [proxy] = rt.proxiesOf("gw-3");
    await proxy!.addToxic({ name: "runtime-test-latency", type: "latency", stream: "downstream", attributes: { latency: 400 } });
    try {
      expect((await lookup(rt, "gw-3")).ms).toBeGreaterThanOrEqual(400);
      expect((await lookup(rt, "gw-1")).ms).toBeLessThan(400);
    } finally {
      await proxy!.removeToxic("runtime-test-latency");
    }
    expect((await lookup(rt, "gw-3")).ms).toBeLessThan(400);
  });

  it("should freeze an instance without closing its sockets, then thaw it", async () => {
    const client = await connectClient(rt, "gw-1", "s-freeze");
    await rt.pauseInstance("gw-1");
    try {
      expect((await probeHttp(`${rt.instance("gw-1").httpUrl}/readyz`, 500)).status).toBe(0);
      expect(rt.instance("gw-1").state).toBe("paused");
      expect(rt.liveInstanceIds()).toEqual(["gw-2", "gw-3"]);
      await expect(rt.pauseInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    } finally {
      await rt.resumeInstance("gw-1");
    }
    expect(await readyStatus(rt, "gw-1")).toBe(200);
    await expect(rt.resumeInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    expect(client.closed()).toBe(false);
    client.socket.close();
  });

  it("should drain a paused instance with exit 0 and start it again", async () => {
    await rt.pauseInstance("gw-2");
    expect(await rt.stopInstance("gw-2")).toMatchObject({ code: 0 });
    expect(await rt.startInstance("gw-2")).toMatchObject({ state: "started" });
    expect(await readyStatus(rt, "gw-2")).toBe(200);
  });

  it("should cut an instance off Redis by a network disconnect while clients still reach it, then heal", async () => {
    const client = await connectClient(rt, "gw-3", "s-netsplit");
    await rt.disconnectInstance("gw-3");
    try {
      // The published port is on the other network: clients still get answers, and the answer is degraded mode.
      const during = await lookup(rt, "gw-3");
      expect(during).toMatchObject({ status: 503, code: "REGISTRY_UNAVAILABLE" });
      expect(during.ms).toBeLessThan(DEGRADED_LOOKUP_BOUND_MS);
      await expect.poll(() => readyStatus(rt, "gw-3"), { timeout: READY_AGAIN_BOUND_MS }).toBe(503);
      expect((await lookup(rt, "gw-1")).status).toBe(404);
      expect(client.closed()).toBe(false);
    } finally {
      await rt.reconnectInstance("gw-3");
    }
    await expect.poll(() => readyStatus(rt, "gw-3"), { timeout: READY_AGAIN_BOUND_MS }).toBe(200);
    expect((await lookup(rt, "gw-3")).status).toBe(404);
    expect(client.closed()).toBe(false);
    client.socket.close();
  });

  it("should tear down everything it labelled, idempotently, with one instance still paused", async () => {
    await rt.pauseInstance("gw-1");
    const ports = [...rt.instances.map((i) => i.port), rt.redis.nodes[0]!.port, Number(new URL(rt.toxiproxy.apiUrl).port)];
    await Promise.all([rt.stop(), rt.stop()]);
    expect(await listLabelledObjects(runId)).toEqual([]);
    for (const port of ports) expect(await probeTcp("127.0.0.1", port)).not.toBe("accepted");
    expect(events.at(-1)?.type).toBe("topology_stopped");
  });
});

describe("ContainerRuntime refusals and cleanup", { timeout: 60_000 }, () => {
  it("should refuse a Redis Cluster and a SUT that is a process definition", () => {
    expect(() => new ContainerRuntime({ runId: "refuse", redis: "cluster" })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED" }));
    const sut = resolveSutDefinition({ name: "mine", command: "/opt/gw/bin/server" });
    expect(() => new ContainerRuntime({ runId: "refuse", sut })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED" }));
  });

  it("should sweep the labelled objects of a run whose owner died, and keep those of live owners", async () => {
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    const name = (tag: string) => `tc-sweep-${tag}-${randomBytes(3).toString("hex")}`;
    const labels = (owner: number) => ["--label", `${LABELS.managed}=1`, "--label", `${LABELS.runId}=sweep-test`, "--label", `${LABELS.ownerPid}=${owner}`];
    const orphan = name("dead");
    const mine = name("live");
    await run("docker", ["network", "create", ...labels(dead.pid!), orphan]);
    await run("docker", ["network", "create", ...labels(process.pid), mine]);
    try {
      const swept = await sweepDeadRunObjects();
      // Every run sweeps at its start, so a parallel test file's run may have taken the orphan first: gone either way.
      expect(swept.map((o) => o.name)).not.toContain(mine);
      expect((await listLabelledObjects("sweep-test")).map((o) => o.name)).toEqual([mine]);
    } finally {
      await run("docker", ["network", "rm", mine, orphan]).catch(() => undefined);
    }
  });

  it("should exit 2 and say how to get an engine when none answers", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "harness/cli/main.ts", "restart", "--runtime", "containers", "--out", "/tmp"], {
      cwd: REPO_ROOT,
      env: { ...process.env, DOCKER_HOST: "unix:///nonexistent/docker.sock", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, stderr).toBe(2);
    expect(stderr).toContain("needs a Docker engine");
    expect(stderr).toContain("apt-get install -y docker.io");
    expect(stderr).toContain("dockerd");
  });
});

/**
 * The client-path and clock nemeses on containers: a client proxy per gateway in the proxy container (published on
 * 127.0.0.1, upstream the gateway's alias on the edge network) and a gateway container started again under the
 * image's libfaketime. Each is judged by the check it exists for, on the reference image and with the failpoints
 * that check must catch (`no-half-open-detect`, `wall-clock-expiry`), one topology each. The two tests run
 * concurrently (most of their time is waiting for heartbeats and holds), so they use their own context's `expect`
 * and `onTestFinished`.
 */
const NEMESIS_HEARTBEAT_MS = 500;
/** Four heartbeats: short, so that the skew probe's two TTLs are short too. */
const NEMESIS_TTL_MS = 2_000;
/** Half-open clients behind gw-1's black-holed client proxy: enough that a partial cleanup shows, few enough to connect in a second. */
const HALF_OPEN_CLIENTS = 100;
/** Records polled straight from Redis at this period, ms: the half-open check's resolution. */
const RECORD_POLL_MS = 100;
/** The black hole lasts the bound 2H + W = 2 s plus two seconds: room for the check to see the records go on a loaded machine. */
const BLACKHOLE_MS = 2 * NEMESIS_HEARTBEAT_MS + REMOVAL_WINDOW_MS + 2_000;
/** Every record rewritten by heartbeats and judged against its expiry several times over (as nemesis-clock-skew.test.ts). */
const SKEW_OBSERVE_MS = 2 * NEMESIS_TTL_MS;
/** The skew outlasts the clients' connects and the observation: a connect through the proxies took under 0.4 s at load 30 on 2 cores. */
const SKEW_HOLD_MS = SKEW_OBSERVE_MS + 3_000;
const SKEW_OFFSET_MS = 60_000;
/**
 * An instance's clock read from its `listening` line against the harness's: off by the time the line takes from
 * the container's stdout to the harness (a few ms measured; seconds at worst on a loaded machine), never by a minute.
 */
const SKEW_READING_TOLERANCE_MS = 5_000;

type Ctx = Pick<TestContext, "expect" | "onTestFinished">;

interface NemesisTopology {
  rt: StartedContainerRuntime;
  /** gw-2's wall clock minus the harness's at each of its `listening` lines, ms. */
  gw2Skews: number[];
}

async function nemesisTopology({ expect, onTestFinished }: Ctx, defects?: string): Promise<NemesisTopology> {
  const gw2Skews: number[] = [];
  const rt = await new ContainerRuntime({
    runId: `test-ctr-nemesis-${randomBytes(3).toString("hex")}`,
    instances: 2,
    clientProxies: true,
    heartbeatIntervalMs: NEMESIS_HEARTBEAT_MS,
    connectionTtlMs: NEMESIS_TTL_MS,
    drainTimeoutMs: 1_000,
    ...(defects ? { env: { TRAFFIC_COP_DEFECTS: defects } } : {}),
    onOutput: (id, line) => {
      if (id === "gw-2" && line.includes('"listening"')) gw2Skews.push((JSON.parse(line) as { time: number }).time - Date.now());
    },
  }).start();
  onTestFinished(async () => {
    await rt.stop();
    expect(await listLabelledObjects(rt.runId)).toEqual([]);
  });
  return { rt, gw2Skews };
}

/** Connects `n` clients through `url`, client `i` in session `sessionOf(i)`; resolves with them in that order once each is welcomed. */
async function connectThrough({ onTestFinished }: Ctx, url: string, secret: string, sessionOf: (i: number) => string, n: number): Promise<{ socket: WebSocket; websocketId: string }[]> {
  const token = mintClientToken(secret, { tenantId: "t-nemesis" });
  const clients: { socket: WebSocket; websocketId: string }[] = [];
  const sockets: WebSocket[] = [];
  onTestFinished(() => sockets.forEach((socket) => socket.terminate()));
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        new Promise<void>((resolve, reject) => {
          const socket = new WebSocket(`${url}/ws?session_id=${sessionOf(i + j)}&agent_type=a&pillar=p&token=${token}`);
          sockets.push(socket);
          socket.on("error", () => undefined);
          socket.once("message", (data) => {
            clients[i + j] = { socket, websocketId: (JSON.parse(String(data)) as { websocket_id: string }).websocket_id };
            resolve();
          });
          socket.once("close", (code) => reject(new Error(`closed ${code} before the welcome`)));
        }),
      ),
    );
  }
  return clients;
}

/** Black-holes gw-1's client proxy with HALF_OPEN_CLIENTS connected through it; the half-open-cleanup verdict. */
async function halfOpenVerdict(ctx: Ctx, rt: StartedContainerRuntime) {
  await connectThrough(ctx, rt.instance("gw-1").clientUrl!, rt.authSecret, (i) => `ho-${i % 20}`, HALF_OPEN_CLIENTS);
  const reader = new RegistryReader({ nodes: rt.redis.nodes, cluster: false });
  ctx.onTestFinished(() => reader.close());
  const events: FaultEvent[] = [];
  const running = new FaultRunner({ target: rt, onEvent: (e) => events.push(e) }).run({ ...Fault.clientLink({ target: "gw-1", form: "blackhole", durationMs: BLACKHOLE_MS }), targets: ["gw-1"] } as ResolvedFault);
  let done = false;
  void running.finally(() => (done = true));
  const samples: InstanceRecordSample[] = [];
  while (!done) {
    samples.push({ t: Date.now(), records: (await reader.counts()).by_instance["gw-1"] ?? 0 });
    await delay(RECORD_POLL_MS);
  }
  ctx.expect(await running).toMatchObject({ kind: "client_link", ok: true });
  const at = (type: string) => events.find((e) => e.type === type)!.t;
  const verdict = judgeHalfOpenCleanup({ instance: "gw-1", appliedAt: at("fault_applied"), endedAt: at("fault_end"), heartbeatIntervalMs: NEMESIS_HEARTBEAT_MS, samples, samplePeriodMs: RECORD_POLL_MS });
  return Object.assign(verdict, { samples, appliedAt: at("fault_applied") });
}

/** Skews gw-2 by SKEW_OFFSET_MS with sessions spanning both instances; the clock-skew verdict while the skew holds. */
async function clockSkewVerdict(ctx: Ctx, rt: StartedContainerRuntime) {
  const events: FaultEvent[] = [];
  const running = new FaultRunner({ target: rt, onEvent: (e) => events.push(e) }).run({ ...Fault.clockSkew({ target: "gw-2", offsetMs: SKEW_OFFSET_MS, durationMs: SKEW_HOLD_MS }), targets: ["gw-2"] } as ResolvedFault);
  await ctx.expect.poll(() => events.some((e) => e.type === "fault_applied"), { timeout: 30_000 }).toBe(true);
  const token = mintClientToken(rt.authSecret, { tenantId: "t-nemesis" });
  const sessions: Record<string, { token: string; ids: string[] }> = {};
  for (const instance of rt.instances) {
    const clients = await connectThrough(ctx, instance.clientUrl!, rt.authSecret, (i) => `skew-${i}`, 5);
    clients.forEach((c, i) => (sessions[`skew-${i}`] ??= { token, ids: [] }).ids.push(c.websocketId));
  }
  const verdict = await probeClockSkew({ instances: rt.instances.map((i) => ({ id: i.id, httpUrl: i.httpUrl })), sessions, observeMs: SKEW_OBSERVE_MS, skew: `gw-2 ${SKEW_OFFSET_MS}ms` });
  ctx.expect(await running).toMatchObject({ kind: "clock_skew", ok: true });
  return verdict;
}

describe.concurrent("ContainerRuntime client proxies and clock skew", { timeout: 120_000 }, () => {
  it("should route clients through a published client proxy per gateway, pass half-open-cleanup and clock-skew, and keep the clients' path through a network partition", async (ctx) => {
    const { expect } = ctx;
    const { rt, gw2Skews } = await nemesisTopology(ctx);
    expect(rt.targets()).toEqual(rt.instances.map((i) => i.clientUrl));
    for (const instance of rt.instances) {
      expect(instance.clientUrl).not.toBe(instance.wsUrl);
      expect(rt.clientProxiesOf(instance.id).map((p) => p.name)).toEqual([`${rt.runId}-${instance.id}-clients`]);
    }

    const halfOpen = await halfOpenVerdict(ctx, rt);
    console.log("containers half-open-cleanup (reference)", JSON.stringify(halfOpen.actual));
    expect(halfOpen.pass, JSON.stringify(halfOpen.evidence)).toBe(true);
    expect(halfOpen.actual).toMatchObject({ records_at_cut: HALF_OPEN_CLIENTS });

    const skew = await clockSkewVerdict(ctx, rt);
    console.log("containers clock-skew (reference)", JSON.stringify({ ...(skew.actual as object), gw2_skews_ms: gw2Skews }));
    expect(skew.pass, JSON.stringify(skew.evidence)).toBe(true);
    // gw-2 started three times: on the true clock, a minute ahead under libfaketime, and on the true clock again.
    expect(gw2Skews).toHaveLength(3);
    expect(Math.abs(gw2Skews[1]! - SKEW_OFFSET_MS)).toBeLessThan(SKEW_READING_TOLERANCE_MS);
    for (const i of [0, 2]) expect(Math.abs(gw2Skews[i]!)).toBeLessThan(SKEW_READING_TOLERANCE_MS);

    // The proxy container is on both networks: gw-1 cut off the store network must lose Redis (its readiness,
    // asked through its client proxy, turns 503) while its clients' path still answers.
    const viaProxy = rt.instance("gw-1").clientUrl!.replace(/^ws:/, "http:");
    await rt.disconnectInstance("gw-1");
    await expect.poll(async () => (await probeHttp(`${viaProxy}/readyz`, 1_000)).status, { timeout: READY_AGAIN_BOUND_MS }).toBe(503);
    await rt.reconnectInstance("gw-1");
    await expect.poll(async () => (await probeHttp(`${viaProxy}/readyz`, 1_000)).status, { timeout: READY_AGAIN_BOUND_MS }).toBe(200);
  });

  it("should fail half-open-cleanup with no-half-open-detect and clock-skew with wall-clock-expiry", async (ctx) => {
    const { expect } = ctx;
    const { rt, gw2Skews } = await nemesisTopology(ctx, "no-half-open-detect,wall-clock-expiry");
    const halfOpen = await halfOpenVerdict(ctx, rt);
    console.log("containers half-open-cleanup (no-half-open-detect)", JSON.stringify(halfOpen.actual));
    expect(halfOpen.pass).toBe(false);
    expect(halfOpen.actual).toMatchObject({ records_at_cut: HALF_OPEN_CLIENTS });
    // Every record stays for the whole black hole (BLACKHOLE_MS). Judged over the hole itself rather than up to
    // fault_end: the heal removes the toxic, which closes the proxied sockets, so a sample taken between the heal and
    // the fault_end event may already miss records the gateway removed on those closes (left_at_end 99 of 100 in one
    // CI run; the same as nemesis-client-path.test.ts).
    const hole = halfOpen.samples.filter((sample) => sample.t >= halfOpen.appliedAt && sample.t < halfOpen.appliedAt + BLACKHOLE_MS);
    expect(hole.length).toBeGreaterThan(10);
    expect(hole.filter((sample) => sample.records !== HALF_OPEN_CLIENTS), JSON.stringify(hole)).toEqual([]);
    const skew = await clockSkewVerdict(ctx, rt);
    console.log("containers clock-skew (wall-clock-expiry)", JSON.stringify({ ...(skew.actual as object), gw2_skews_ms: gw2Skews }));
    expect(Math.abs(gw2Skews[1]! - SKEW_OFFSET_MS)).toBeLessThan(SKEW_READING_TOLERANCE_MS);
    expect(skew.pass).toBe(false);
  });
});
