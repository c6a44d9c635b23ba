import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { GatewayProcess } from "../../harness/runtime/gateway-process.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { LocalRuntime } from "../../harness/runtime/local-runtime.js";
import type { RuntimeEvent } from "../../harness/runtime/runtime.js";
import { probeHttp } from "../../harness/runtime/readiness.js";
import { resolveSutDefinition } from "../../harness/runtime/sut.js";
import { findFreePort } from "../../harness/common/free-port.js";

// A minimal SUT honouring the process contract (PORT, HOST, /readyz, SIGTERM → exit 0): fast lifecycle tests.
const TINY_SUT = resolveSutDefinition({
  name: "tiny",
  command: "${NODE}",
  args: [
    "-e",
    "const s=require('http').createServer((q,r)=>r.end('ok')).listen(+process.env.PORT,process.env.HOST,()=>console.log(JSON.stringify({event:'listening',port:+process.env.PORT})));process.on('SIGTERM',()=>s.close(()=>process.exit(0)))",
  ],
  metricsPath: null,
});

function runId(): string {
  return `test-${randomBytes(3).toString("hex")}`;
}

async function expectNothingLeft(id: string, ports: number[]): Promise<void> {
  await expect.poll(() => findLeftovers({ runId: id, ports }), { timeout: 5_000 }).toEqual({ processes: [], listening: [] });
}

async function tinyProcess(id: string): Promise<GatewayProcess> {
  const port = await findFreePort();
  const process = new GatewayProcess({ instanceId: "gw-1", sut: TINY_SUT, vars: { PORT: String(port), HOST: "127.0.0.1" }, runId: id, host: "127.0.0.1", port });
  onTestFinished(async () => {
    await process.kill();
    await expectNothingLeft(id, [port]);
  });
  return process;
}

describe("GatewayProcess", () => {
  it("should stop before start without spawning anything", async () => {
    const process = await tinyProcess(runId());
    await expect(process.stop()).resolves.toMatchObject({ expected: true });
    expect(process.state).toBe("stopped");
    await expect(process.start()).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
  });

  it("should make double stop return the same exit, and exit 0 after SIGTERM", async () => {
    const process = await tinyProcess(runId());
    await process.start();
    expect(process.state).toBe("started");
    const [a, b] = await Promise.all([process.stop(), process.stop()]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ code: 0, expected: true });
    expect(process.state).toBe("stopped");
    await expect(process.start()).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
  });

  it("should record a crash mid-run as an unexpected exit", async () => {
    const process = await tinyProcess(runId());
    const states: string[] = [];
    await process.start();
    globalThis.process.kill(process.pid!, "SIGKILL");
    await expect(process.exited).resolves.toMatchObject({ signal: "SIGKILL", expected: false });
    expect(process.state).toBe("exited");
    states.push(process.state);
    await expect(process.stop()).resolves.toMatchObject({ expected: false });
    expect(process.state).toBe("exited");
  });

  it("should abort a start when the process exits before it is ready", async () => {
    const id = runId();
    const port = await findFreePort();
    const sut = resolveSutDefinition({ name: "dies", command: "${NODE}", args: ["-e", "console.error('boom'); process.exit(3)"] });
    const process = new GatewayProcess({ instanceId: "gw-1", sut, vars: { PORT: String(port) }, runId: id, host: "127.0.0.1", port });
    await expect(process.start()).rejects.toMatchObject({ code: "HARNESS_ERR_PROCESS_EXITED" });
    expect(process.state).toBe("start_failure");
    await expectNothingLeft(id, [port]);
  });

  it("should reject a SUT command that does not exist", async () => {
    const id = runId();
    const sut = resolveSutDefinition({ name: "missing", command: "/nonexistent/gateway-binary" });
    const process = new GatewayProcess({ instanceId: "gw-1", sut, vars: {}, runId: id, host: "127.0.0.1", port: 1 });
    await expect(process.start()).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_SUT" });
  });

  it("should kill during start and leave nothing", async () => {
    const process = await tinyProcess(runId());
    const starting = process.start();
    const killed = process.kill();
    await expect(starting).rejects.toMatchObject({ code: expect.stringMatching(/HARNESS_ERR_(ABORTED|PROCESS_EXITED)/) });
    await killed;
    expect(["stopped", "start_failure"]).toContain(process.state);
  });
});

describe("LocalRuntime", { timeout: 120_000 }, () => {
  it("should start the reference topology, kill, stop, start on the same port and tear down completely", async () => {
    const id = runId();
    const events: RuntimeEvent[] = [];
    const runtime = await new LocalRuntime({ runId: id, instances: 2, drainTimeoutMs: 2_000, heartbeatIntervalMs: 1_000, connectionTtlMs: 5_000, onEvent: (e) => events.push(e) }).start();
    const ports = [...runtime.instances.map((i) => i.port), ...runtime.redis.nodes.map((n) => n.port), ...runtime.instances.flatMap((i) => runtime.proxiesOf(i.id).map((p) => p.port))];
    onTestFinished(async () => {
      await runtime.stop();
      await expectNothingLeft(id, ports);
    });
    expect(runtime.liveInstanceIds()).toEqual(["gw-1", "gw-2"]);
    for (const instance of runtime.instances) expect((await probeHttp(`${instance.httpUrl}/readyz`)).status).toBe(200);

    const port = runtime.instance("gw-1").port;
    await expect(runtime.killInstance("gw-1")).resolves.toMatchObject({ signal: "SIGKILL" });
    expect(runtime.liveInstanceIds()).toEqual(["gw-2"]);
    expect((await probeHttp(`http://127.0.0.1:${port}/readyz`)).status).toBe(0);
    await runtime.startInstance("gw-1");
    expect(runtime.instance("gw-1")).toMatchObject({ port, state: "started", generation: 2 });

    await expect(runtime.stopInstance("gw-2")).resolves.toMatchObject({ code: 0 });
    await expect(runtime.startInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    await expect(runtime.killInstance("gw-9")).rejects.toMatchObject({ code: "HARNESS_ERR_UNKNOWN_INSTANCE" });
    await runtime.restartInstance("gw-2", "kill");
    expect(runtime.liveInstanceIds()).toEqual(["gw-1", "gw-2"]);

    await runtime.restartRedis();
    await expect.poll(async () => (await probeHttp(`${runtime.instance("gw-1").httpUrl}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    expect(events.some((e) => e.type === "redis_restart")).toBe(true);

    await Promise.all([runtime.stop(), runtime.stop()]);
    await expectNothingLeft(id, ports);
    expect(events.filter((e) => e.type === "process_state" && e.state === "stopped").length).toBeGreaterThan(0);
  });
});
