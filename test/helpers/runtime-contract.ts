/**
 * The contract suite of {@link Runtime}: what the engine, the fault runner, the fleet, the probes and the registry
 * reader rely on, run against every implementation (`test/integration/runtime-contract-<runtime>.test.ts`). The tests
 * that leave a topology as they found it (every instance started and ready, its proxies enabled) share one, in order,
 * put back to that state after each of them (a failed test's leftovers included, or the next gets a fresh one); the
 * tests of start-up in other modes and of teardown start their own. Every topology is checked, once stopped, to leave
 * nothing behind. What a runtime
 * cannot do is declared by its capabilities, and the suite then asserts that it refuses it with
 * `HARNESS_ERR_UNSUPPORTED`; a runtime that claims a capability must honour it.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { probeHttp } from "../../harness/runtime/readiness.js";
import type { RedisMode, Runtime, RuntimeCapabilities, RuntimeEvent, RuntimeOptions, StartedRuntime } from "../../harness/runtime/runtime.js";

/** How long a topology may take to get back to ready after a fault (a restart, a heal), in ms. */
const READY_AGAIN_MS = 20_000;
/** A paused instance must not answer within this, in ms. */
const PAUSED_ANSWER_DEADLINE_MS = 500;
/** How long teardown may take to leave nothing behind, in ms. */
const NOTHING_LEFT_MS = 10_000;

/** Options of {@link describeRuntimeContract}. */
export interface RuntimeContractOptions {
  /** Skips the whole suite, saying why (e.g. no Docker engine). @default run it */
  skipReason?: string;
  /** Timeout of each test, in ms. @default 120000 */
  timeoutMs?: number;
  /** Ports a started topology listens on, reachable from the harness. @default gateways, Redis nodes, proxies and the proxy API */
  portsOf?: (runtime: StartedRuntime) => number[];
  /** What else of run `runId` is left after teardown (containers, networks), by name; must be empty. @default none */
  leftovers?: (runId: string) => Promise<string[]>;
}

function defaultPorts(runtime: StartedRuntime): number[] {
  return [
    ...runtime.instances.map((i) => i.port),
    ...runtime.redis.nodes.map((n) => n.port),
    ...runtime.instances.flatMap((i) => runtime.proxiesOf(i.id).map((p) => p.port)),
    Number(new URL(runtime.toxiproxy.apiUrl).port),
  ];
}

/** One PING on a Redis node; the answer, or the error's message. */
async function redisPing(host: string, port: number): Promise<string> {
  const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 2_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

async function readyStatus(url: string, timeoutMs?: number): Promise<number> {
  return (await probeHttp(`${url}/readyz`, timeoutMs)).status;
}

/**
 * Registers the contract suite of one runtime. `makeRuntime` builds an unstarted runtime from options;
 * `capabilities` gives, per Redis mode, the capabilities the runtime must declare (and honour).
 */
export function describeRuntimeContract(
  name: string,
  makeRuntime: (options: RuntimeOptions) => Runtime,
  capabilities: (redis: RedisMode) => RuntimeCapabilities,
  options: RuntimeContractOptions = {},
): void {
  const portsOf = options.portsOf ?? defaultPorts;

  interface Topology {
    runtime: StartedRuntime;
    events: RuntimeEvent[];
    unstarted: Runtime;
    runId: string;
    ports: number[];
  }

  async function startTopology(overrides: Partial<RuntimeOptions> = {}): Promise<Topology> {
    const runId = `contract-${name}-${randomBytes(3).toString("hex")}`;
    const events: RuntimeEvent[] = [];
    const unstarted = makeRuntime({ runId, instances: 2, drainTimeoutMs: 2_000, heartbeatIntervalMs: 1_000, connectionTtlMs: 5_000, onEvent: (e) => events.push(e), ...overrides });
    const runtime = await unstarted.start();
    return { runtime, events, unstarted, runId, ports: portsOf(runtime) };
  }

  /** Stops a topology and requires that nothing of it is left (also from `afterAll`, where `expect.poll` is not allowed). */
  async function stopTopology({ runtime, runId, ports }: Topology): Promise<void> {
    await runtime.stop();
    const nothingLeft = { timeout: NOTHING_LEFT_MS, interval: 100 };
    await vi.waitFor(async () => expect(await findLeftovers({ runId, ports, host: runtime.host })).toEqual({ processes: [], listening: [] }), nothingLeft);
    if (options.leftovers) await vi.waitFor(async () => expect(await options.leftovers!(runId)).toEqual([]), nothingLeft);
  }

  /** Starts a topology for one test; when the test ends it is stopped and nothing of it may be left. */
  async function useRuntime(overrides: Partial<RuntimeOptions> = {}): Promise<Topology> {
    const topology = await startTopology(overrides);
    onTestFinished(() => stopTopology(topology));
    return topology;
  }

  const pollReady = (url: string) => expect.poll(() => readyStatus(url), { timeout: READY_AGAIN_MS, interval: 100 });

  /**
   * Waits until every instance answers readyz 200; one that does not fails with its last probe's error and what the
   * runtime recorded about it (its state changes and exit), which a CI log otherwise lacks: the topology is gone by
   * the time anyone reads it.
   */
  async function expectEveryReady({ runtime, events }: Topology, waitMs = READY_AGAIN_MS): Promise<void> {
    for (const instance of runtime.instances) {
      const expectReady = async () => {
        const probe = await probeHttp(`${instance.httpUrl}/readyz`);
        const recorded = events.filter((e) => JSON.stringify(e).includes(`"${instance.id}"`)).slice(-15);
        expect(probe.status, JSON.stringify({ instance: instance.id, state: runtime.instance(instance.id).state, probe, events: recorded })).toBe(200);
      };
      await (waitMs > 0 ? vi.waitFor(expectReady, { timeout: waitMs, interval: 100 }) : expectReady());
    }
  }

  /**
   * Puts a shared topology back as the next test expects it: every instance started (a paused one resumed, a
   * stopped one started), every proxy enabled, every instance ready. What it does not undo (an instance left
   * disconnected) fails the readiness poll, and the topology is replaced.
   */
  async function restore(topology: Topology): Promise<void> {
    const { runtime } = topology;
    for (const instance of runtime.instances) {
      if (instance.state === "paused") await runtime.resumeInstance(instance.id);
      if (runtime.instance(instance.id).state !== "started") await runtime.startInstance(instance.id);
      for (const proxy of runtime.proxiesOf(instance.id)) await proxy.setEnabled(true);
    }
    await expectEveryReady(topology);
  }

  let shared: Promise<Topology> | undefined;
  afterAll(async () => {
    const topology = await shared?.catch(() => undefined);
    if (topology) await stopTopology(topology);
  });

  /**
   * The topology the tests that leave it as they found it share, started by the first of them. When a test ends it
   * is put back ({@link restore}); when that fails it is stopped and checked, and the next test starts a fresh one.
   */
  async function useSharedRuntime(): Promise<Topology> {
    shared ??= startTopology();
    const topology = await shared;
    onTestFinished(async () => {
      try {
        await restore(topology);
      } catch (error) {
        shared = undefined;
        await stopTopology(topology);
        throw error;
      }
    });
    return topology;
  }

  describe.skipIf(options.skipReason !== undefined)(`Runtime contract: ${name}`, { timeout: options.timeoutMs ?? 120_000 }, () => {
    it("should start every instance ready, with its endpoints, and Redis answering PING", async () => {
      const topology = await useSharedRuntime();
      const { runtime, events, unstarted } = topology;
      // Ready at once: start() resolves only once every instance is.
      await expectEveryReady(topology, 0);
      expect(unstarted.capabilities).toEqual(capabilities("standalone"));
      expect(runtime.capabilities).toEqual(capabilities("standalone"));
      expect(runtime.kind).toBe(unstarted.kind);
      expect(runtime).toMatchObject({ registry: "redis", redisMode: "standalone", connectionTtlMs: 5_000, heartbeatIntervalMs: 1_000, drainTimeoutMs: 2_000 });
      expect(runtime.authSecret.length).toBeGreaterThan(0);
      expect(runtime.instances.map((i) => i.id)).toEqual(["gw-1", "gw-2"]);
      expect(runtime.liveInstanceIds()).toEqual(["gw-1", "gw-2"]);
      expect(runtime.targets()).toEqual(runtime.instances.map((i) => i.wsUrl));
      for (const instance of runtime.instances) {
        expect(instance).toMatchObject({ state: "started", generation: 1, httpUrl: `http://${runtime.host}:${instance.port}`, wsUrl: `ws://${runtime.host}:${instance.port}` });
        expect(await readyStatus(instance.httpUrl)).toBe(200);
        expect(runtime.instance(instance.id)).toEqual(instance);
        expect(runtime.proxiesOf(instance.id).map((p) => p.name)).toEqual(instance.proxies);
        expect(instance.proxies).toHaveLength(1);
      }
      expect(runtime.redis.mode).toBe("standalone");
      expect(runtime.redis.nodes).toHaveLength(1);
      for (const node of runtime.redis.nodes) expect(await redisPing(node.host, node.port)).toBe("PONG");
      expect((await probeHttp(`${runtime.toxiproxy.apiUrl}/version`)).status).toBe(200);
      expect(events.some((e) => e.type === "topology_started")).toBe(true);
      expect(() => runtime.instance("gw-9")).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNKNOWN_INSTANCE" }));
      await expect(runtime.killInstance("gw-9")).rejects.toMatchObject({ code: "HARNESS_ERR_UNKNOWN_INSTANCE" });
    });

    it("should kill, stop, start and restart one instance on the same address, counting generations", async () => {
      const { runtime } = await useSharedRuntime();
      const port = runtime.instance("gw-1").port;
      const [gen1, gen2] = [runtime.instance("gw-1").generation, runtime.instance("gw-2").generation];
      await runtime.killInstance("gw-1");
      expect(runtime.instance("gw-1").state).not.toBe("started");
      expect(runtime.liveInstanceIds()).toEqual(["gw-2"]);
      expect(await readyStatus(runtime.instance("gw-1").httpUrl)).not.toBe(200);
      expect(await runtime.startInstance("gw-1")).toMatchObject({ id: "gw-1", port, state: "started", generation: gen1 + 1 });
      expect(await readyStatus(runtime.instance("gw-1").httpUrl)).toBe(200);
      await expect(runtime.startInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });

      await expect(runtime.stopInstance("gw-2")).resolves.toMatchObject({ code: 0 });
      expect(runtime.liveInstanceIds()).toEqual(["gw-1"]);
      expect(await runtime.startInstance("gw-2")).toMatchObject({ state: "started", generation: gen2 + 1 });

      expect(await runtime.restartInstance("gw-2", "kill")).toMatchObject({ state: "started", generation: gen2 + 2 });
      expect(await runtime.restartInstance("gw-1")).toMatchObject({ port, state: "started", generation: gen1 + 2 });
      expect(runtime.liveInstanceIds()).toEqual(["gw-1", "gw-2"]);
      for (const instance of runtime.instances) expect(await readyStatus(instance.httpUrl)).toBe(200);
    });

    it("should restart every instance in turn, each ready before the next goes down", async () => {
      const { runtime, events } = await useSharedRuntime();
      const from = events.length;
      const generations = runtime.instances.map((i) => i.generation);
      await runtime.rollingRestart("stop", ["gw-2", "gw-1"]);
      const sequence = events
        .slice(from)
        .filter((e): e is Extract<RuntimeEvent, { type: "process_state" }> => e.type === "process_state" && (e.state === "stopping" || e.state === "started"))
        .map((e) => `${e.target} ${e.state}`);
      expect(sequence).toEqual(["gw-2 stopping", "gw-2 started", "gw-1 stopping", "gw-1 started"]);
      expect(runtime.instances.map((i) => [i.id, i.state, i.generation])).toEqual([
        ["gw-1", "started", generations[0]! + 1],
        ["gw-2", "started", generations[1]! + 1],
      ]);
      for (const instance of runtime.instances) expect(await readyStatus(instance.httpUrl)).toBe(200);
    });

    it("should cut one instance off Redis by disabling its proxy, and let it back by enabling it", async () => {
      const { runtime } = await useSharedRuntime();
      const [gw1, gw2] = runtime.instances;
      for (const proxy of runtime.proxiesOf(gw1!.id)) await proxy.setEnabled(false);
      await expect.poll(() => readyStatus(gw1!.httpUrl), { timeout: READY_AGAIN_MS, interval: 100 }).not.toBe(200);
      expect(await readyStatus(gw2!.httpUrl)).toBe(200);
      for (const proxy of runtime.proxiesOf(gw1!.id)) await proxy.setEnabled(true);
      await pollReady(gw1!.httpUrl).toBe(200);
    });

    it(capabilities("standalone").pause ? "should pause an instance so it answers nothing, and resume it" : "should refuse pause and resume as unsupported", async () => {
      const { runtime } = await useSharedRuntime();
      const url = runtime.instance("gw-1").httpUrl;
      if (!runtime.capabilities.pause) {
        await expect(runtime.pauseInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
        await expect(runtime.resumeInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
        return;
      }
      await runtime.pauseInstance("gw-1");
      expect(runtime.instance("gw-1").state).toBe("paused");
      expect(runtime.liveInstanceIds()).toEqual(["gw-2"]);
      expect(await probeHttp(`${url}/readyz`, PAUSED_ANSWER_DEADLINE_MS)).toMatchObject({ status: 0 });
      await expect(runtime.pauseInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
      await runtime.resumeInstance("gw-1");
      expect(runtime.instance("gw-1").state).toBe("started");
      await pollReady(url).toBe(200);
      await expect(runtime.resumeInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    });

    it.runIf(capabilities("standalone").pause)("should stop a paused instance, and tear down a topology with one still paused", async () => {
      const { runtime } = await useRuntime();
      await runtime.pauseInstance("gw-2");
      await expect(runtime.stopInstance("gw-2")).resolves.toMatchObject({ code: 0 });
      expect(await runtime.startInstance("gw-2")).toMatchObject({ state: "started", generation: 2 });
      await runtime.pauseInstance("gw-1");
      // The test's end stops the topology with gw-1 still paused and checks that nothing is left.
    });

    it(capabilities("standalone").redisRestart ? "should restart Redis empty on the same address, and the instances get ready again" : "should refuse a Redis restart as unsupported", async () => {
      const { runtime, events } = await useSharedRuntime();
      const from = events.length;
      if (!runtime.capabilities.redisRestart) {
        await expect(runtime.restartRedis()).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
        return;
      }
      const { host, port } = runtime.redis.nodes[0]!;
      const key = `contract:${randomBytes(4).toString("hex")}`;
      const client = new Redis({ host, port, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      client.on("error", () => undefined);
      onTestFinished(() => void client.disconnect());
      await client.set(key, "before");
      expect(await client.get(key)).toBe("before");
      await runtime.restartRedis();
      expect(runtime.redis.nodes[0]).toEqual({ host, port });
      await expect.poll(() => redisPing(host, port), { timeout: READY_AGAIN_MS }).toBe("PONG");
      await expect.poll(() => client.get(key).catch((e: Error) => e.message), { timeout: READY_AGAIN_MS }).toBeNull();
      expect(events.slice(from).some((e) => e.type === "redis_restart")).toBe(true);
      for (const instance of runtime.instances) await pollReady(instance.httpUrl).toBe(200);
    });

    it(capabilities("standalone").networkPartition ? "should disconnect an instance from the network and reconnect it" : "should refuse a network partition as unsupported", async () => {
      const { runtime } = await useSharedRuntime();
      if (!runtime.capabilities.networkPartition) {
        await expect(runtime.disconnectInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
        await expect(runtime.reconnectInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
        return;
      }
      const url = runtime.instance("gw-1").httpUrl;
      await runtime.disconnectInstance("gw-1");
      await expect.poll(() => readyStatus(url, PAUSED_ANSWER_DEADLINE_MS), { timeout: READY_AGAIN_MS, interval: 100 }).not.toBe(200);
      await runtime.reconnectInstance("gw-1");
      await pollReady(url).toBe(200);
    });

    for (const mode of capabilities("standalone").redisModes.filter((m) => m !== "standalone")) {
      it(`should start with Redis in ${mode} mode, every node answering PING`, async () => {
        const { runtime } = await useRuntime({ redis: mode, instances: 1 });
        expect(runtime.capabilities).toEqual(capabilities(mode));
        expect(runtime.redis.mode).toBe(mode);
        expect(runtime.redisMode).toBe(mode);
        for (const node of runtime.redis.nodes) expect(await redisPing(node.host, node.port)).toBe("PONG");
        expect(runtime.proxiesOf("gw-1")).toHaveLength(runtime.redis.nodes.length);
        expect(await readyStatus(runtime.instance("gw-1").httpUrl)).toBe(200);
        if (!runtime.capabilities.redisRestart) await expect(runtime.restartRedis()).rejects.toMatchObject({ code: "HARNESS_ERR_UNSUPPORTED" });
      });
    }

    it("should stop idempotently under concurrent calls, refuse operations afterwards, and leave nothing", async () => {
      const { runtime, events } = await useRuntime();
      await Promise.all([runtime.stop(), runtime.stop(), runtime[Symbol.asyncDispose]()]);
      await runtime.stop();
      expect(events.filter((e) => e.type === "topology_stopped")).toHaveLength(1);
      await expect(runtime.killInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
      await expect(runtime.startInstance("gw-1")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
      for (const instance of runtime.instances) expect(await readyStatus(instance.httpUrl)).not.toBe(200);
      // The test's end checks, once more after another stop, that no process or port of the run is left.
    });
  });
}
