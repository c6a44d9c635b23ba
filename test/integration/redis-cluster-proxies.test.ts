import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { LocalRuntime, type StartedLocalRuntime } from "../../harness/runtime/local-runtime.js";
import { probeHttp } from "../../harness/runtime/readiness.js";

/**
 * How long a cut-off gateway may stay ready, ms: disabling a proxy closes its connections at once, and ioredis
 * marks the cluster client not ready on the close; 10 s leaves room for 2 loaded cores.
 */
const CUT_OFF_BOUND_MS = 10_000;
/**
 * How long the unproxied control is watched for a 503 it must never show, ms: longer than the cluster client's
 * reconnect backoff (at most 500 ms) plus a slots refresh (2 s), so a reconnection through the real node
 * addresses has had time to happen.
 */
const CONTROL_WATCH_MS = 4_000;

async function useClusterRuntime(env: Record<string, string> = {}): Promise<StartedLocalRuntime> {
  const runId = `test-clusterproxy-${randomBytes(3).toString("hex")}`;
  const runtime = await new LocalRuntime({ runId, instances: 1, redis: "cluster", connectionTtlMs: 4_000, heartbeatIntervalMs: 1_000, env }).start();
  onTestFinished(async () => {
    const ports = runtime.instances.map((i) => i.port);
    await runtime.stop();
    await expect.poll(() => findLeftovers({ runId, ports }), { timeout: 5_000 }).toEqual({ processes: [], listening: [] });
  });
  return runtime;
}

async function disableProxies(runtime: StartedLocalRuntime, enabled: boolean): Promise<void> {
  for (const proxy of runtime.proxiesOf("gw-1")) await proxy.setEnabled(enabled);
}

describe("LocalRuntime with --redis cluster: proxy faults apply", () => {
  it("should cut a gateway off the whole cluster when its proxies are disabled (REDIS_NAT_MAP keeps every node behind its proxy)", { timeout: 90_000 }, async () => {
    const runtime = await useClusterRuntime();
    const gw = runtime.instance("gw-1");
    // One proxy per node: 3 masters and a replica of each.
    expect(runtime.proxiesOf("gw-1")).toHaveLength(6);
    // Exercise every node first, so the client has learnt the topology and opened connections to all of them.
    await expect.poll(async () => (await probeHttp(`${gw.httpUrl}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    await disableProxies(runtime, false);
    await expect.poll(async () => (await probeHttp(`${gw.httpUrl}/readyz`)).status, { timeout: CUT_OFF_BOUND_MS, interval: 100 }).toBe(503);
    // Still cut off a while later: no path around the proxies.
    const t0 = Date.now();
    while (Date.now() - t0 < CONTROL_WATCH_MS) {
      expect((await probeHttp(`${gw.httpUrl}/readyz`)).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await disableProxies(runtime, true);
    await expect.poll(async () => (await probeHttp(`${gw.httpUrl}/readyz`)).status, { timeout: CUT_OFF_BOUND_MS, interval: 100 }).toBe(200);
  });

  it("control: without REDIS_NAT_MAP the cluster client goes around the disabled proxies to the announced nodes", { timeout: 90_000 }, async () => {
    const runtime = await useClusterRuntime({ REDIS_NAT_MAP: "" });
    const gw = runtime.instance("gw-1");
    await expect.poll(async () => (await probeHttp(`${gw.httpUrl}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    await disableProxies(runtime, false);
    const statuses: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < CONTROL_WATCH_MS) {
      statuses.push((await probeHttp(`${gw.httpUrl}/readyz`)).status);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The last answers: served again (or never stopped), though every proxy of the instance is disabled.
    expect(statuses.slice(-3)).toEqual([200, 200, 200]);
    await disableProxies(runtime, true);
  });
});
