/**
 * The containers runtime against a real Docker engine: one topology for the common operations (starting one costs
 * a few seconds), every behaviour of the `StartedRuntime` interface in turn, then teardown (the client-link and
 * clock-skew nemeses are in container-nemeses.test.ts). The cases only use the interface, so they can move into the shared runtime contract suite. A missing
 * engine fails this file (CI installs and starts one in .ci/run): it does not skip.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { mintClientToken } from "../../harness/common/jwt.js";
import { probeTcp } from "../../harness/common/tcp-probe.js";
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

  it("should bring instances cut off together back at their own addresses, whatever the order, serving again", async () => {
    const address = async (id: string) => (await run("docker", ["inspect", "-f", `{{(index .NetworkSettings.Networks "tc-${runId}-store").IPAddress}}`, `tc-${runId}-${id}`])).stdout.trim();
    const before = { "gw-1": await address("gw-1"), "gw-2": await address("gw-2") };
    expect(before["gw-1"]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await rt.disconnectInstance("gw-1");
    await rt.disconnectInstance("gw-2");
    // Left to Docker, the one with the higher address, joining first, would take the lowest free one: the other's.
    const last = (ip: string) => Number(ip.split(".").at(-1));
    const order = last(before["gw-1"]) > last(before["gw-2"]) ? ["gw-1", "gw-2"] : ["gw-2", "gw-1"];
    for (const id of order) await rt.reconnectInstance(id);
    expect({ "gw-1": await address("gw-1"), "gw-2": await address("gw-2") }).toEqual(before);
    for (const id of ["gw-1", "gw-2"]) await expect.poll(() => readyStatus(rt, id), { timeout: READY_AGAIN_BOUND_MS }).toBe(200);
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

  it("should refuse a SUT image the engine does not have, saying how to get it, before creating anything", async () => {
    const image = `traffic-cop-test/absent:${randomBytes(4).toString("hex")}`;
    const runId = `absent-${randomBytes(3).toString("hex")}`;
    const runtime = new ContainerRuntime({ runId, sut: resolveSutDefinition({ name: "absent", image }) });
    await expect(runtime.start()).rejects.toMatchObject({ code: "HARNESS_ERR_DOCKER", message: expect.stringMatching(new RegExp(`${image}.*docker build .*docker load`)) });
    expect(await listLabelledObjects(runId)).toEqual([]);
  });

  it("should exit 2, say how to get an engine when none answers, and write an error report", async () => {
    // A folder of its own: the run writes its error report and the runs' index there.
    const out = await mkdtemp(join(tmpdir(), "traffic-cop-no-engine-"));
    onTestFinished(() => rm(out, { recursive: true, force: true }));
    const child = spawn(process.execPath, ["--import", "tsx", "harness/cli/main.ts", "restart", "--runtime", "containers", "--out", out], {
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
    const [runDir] = (await readdir(out, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    const run = JSON.parse(await readFile(join(out, runDir!, "run.json"), "utf8")) as { status: string; error?: { code: string } };
    expect(run).toMatchObject({ status: "error", error: { code: "HARNESS_ERR_DOCKER_UNAVAILABLE" } });
  });
});
