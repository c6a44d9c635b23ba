import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FaultRunner, type FaultEvent, type FaultTarget, type ResolvedFault } from "../../harness/faults/fault-runner.js";
import { Fault } from "../../harness/faults/fault.js";
import { ToxiproxyFaults, type ToxiproxyProxy } from "../../harness/faults/toxiproxy-faults.js";
import { findFreePort } from "../../harness/common/free-port.js";
import { useRedisClient, useRedisServer } from "../helpers/redis.js";
import { useToxiproxyServer } from "../helpers/toxiproxy.js";

async function setup(): Promise<{ proxy: ToxiproxyProxy; client: ReturnType<typeof useRedisClient>; runner: FaultRunner; events: FaultEvent[]; toxiproxy: ToxiproxyFaults; redis: Awaited<ReturnType<typeof useRedisServer>> }> {
  const redis = await useRedisServer();
  const server = await useToxiproxyServer({ host: "127.0.0.1" });
  const toxiproxy = new ToxiproxyFaults(server.url);
  const port = await findFreePort();
  const proxy = await toxiproxy.createProxy({ name: `t-${randomBytes(3).toString("hex")}`, listen: `127.0.0.1:${port}`, upstream: `${redis.host}:${redis.port}` });
  const client = useRedisClient({ host: "127.0.0.1", port: proxy.port }, { maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: () => 50, enableOfflineQueue: false });
  client.on("error", () => undefined);
  await expect.poll(() => client.ping().catch(() => "down"), { timeout: 5_000 }).toBe("PONG");
  const events: FaultEvent[] = [];
  return { proxy, client, runner: new FaultRunner({ target: proxyTarget(() => [proxy]), onEvent: (e) => events.push(e) }), events, toxiproxy, redis };
}

/** A fault target with no processes, each instance behind the proxies `proxiesOf` gives for it. */
function proxyTarget(proxiesOf: FaultTarget["proxiesOf"]): FaultTarget {
  const none = () => Promise.reject(new Error("no processes here"));
  return { killInstance: none, stopInstance: none, startInstance: none, restartRedis: none, proxiesOf, instance: () => ({ wsUrl: "ws://127.0.0.1:1" }) };
}

function resolved(fault: Fault): ResolvedFault {
  return { ...fault, targets: ["gw-1"] } as ResolvedFault;
}

const PARTITIONS = [
  { form: "disable", expectError: /closed|ECONNRESET|ECONNREFUSED|Connection is closed|writeable|timed out/i },
  { form: "blackhole", expectError: /timed out|timeout/i },
  { form: "reset", expectError: /ECONNRESET|closed|writeable|timed out/i },
] as const;

describe("FaultRunner through the Toxiproxy-compatible server", { timeout: 30_000 }, () => {
  for (const { form, expectError } of PARTITIONS) {
    it(`should partition Redis (${form}) as a redis client through the proxy sees it, then heal`, async () => {
      const { client, runner, events } = await setup();
      const running = runner.run(resolved(Fault.partition({ form, durationMs: 1_500 })));
      await expect.poll(() => events.some((e) => e.type === "fault_start")).toBe(true);
      // Give the toxic a moment to reach the proxy before probing: poll until PING fails.
      await expect.poll(async () => client.ping().then(() => "PONG", (e: Error) => e.message), { timeout: 1_400, interval: 50 }).toMatch(expectError);
      // A black hole leaves the socket open; the other forms cut it.
      if (form === "blackhole") expect(client.status).toBe("ready");
      else await expect.poll(() => client.status, { timeout: 1_000 }).not.toBe("ready");
      const end = await running;
      expect(end).toMatchObject({ type: "fault_end", ok: true, kind: "partition" });
      expect(end.duration_ms).toBeGreaterThanOrEqual(1_400);
      // The heal began once the fault had held for its duration (less 10 ms: the hold's timer runs on the monotonic
      // clock, the events' times on Date.now), and before fault_end.
      const applied = events.find((e) => e.type === "fault_applied")!;
      expect(end.heal_started_at).toBeGreaterThanOrEqual(applied.t + 1_490);
      expect(end.heal_started_at).toBeLessThanOrEqual(end.t);
      await expect.poll(() => client.ping().catch(() => "down"), { timeout: 5_000 }).toBe("PONG");
      expect(runner.active()).toEqual({});
    });
  }

  it("should mark when the heal began, before the last of several targets has its link back", async () => {
    const { proxy, events, toxiproxy, redis } = await setup();
    const second = await toxiproxy.createProxy({ name: `t-${randomBytes(3).toString("hex")}`, listen: `127.0.0.1:${await findFreePort()}`, upstream: `${redis.host}:${redis.port}` });
    // The second target's proxy API answers its heal 400 ms late, as a proxy server on a loaded machine may.
    const late = Object.assign(Object.create(second) as ToxiproxyProxy, {
      setEnabled: async (enabled: boolean) => {
        if (enabled) await new Promise((resolve) => setTimeout(resolve, 400));
        await second.setEnabled(enabled);
      },
    });
    // gw-1 behind the first proxy, gw-2 behind the late one.
    const runner = new FaultRunner({ target: proxyTarget((id) => (id === "gw-1" ? [proxy] : [late])), onEvent: (e) => events.push(e) });
    const end = await runner.run({ ...Fault.partition({ form: "disable", durationMs: 300 }), targets: ["gw-1", "gw-2"] } as ResolvedFault);
    expect(end).toMatchObject({ type: "fault_end", ok: true, kind: "partition" });
    // gw-1's proxy was enabled from heal_started_at on; fault_end waited for gw-2's late answer (less 10 ms: the
    // delay's timer runs on the monotonic clock, the events' times on Date.now).
    expect(end.t - end.heal_started_at!).toBeGreaterThanOrEqual(390);
  });

  it("should add latency with jitter for its duration and remove it", async () => {
    const { client, runner } = await setup();
    const running = runner.run(resolved(Fault.latency({ latencyMs: 300, jitterMs: 20, durationMs: 1_200 })));
    await expect
      .poll(async () => {
        const t0 = performance.now();
        await client.ping().catch(() => undefined);
        return performance.now() - t0;
      }, { timeout: 1_000, interval: 20 })
      .toBeGreaterThanOrEqual(250);
    await running;
    const t0 = performance.now();
    await client.ping();
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it("should normalise Toxiproxy API errors into HARNESS_ERR_TOXIPROXY", async () => {
    const { toxiproxy, proxy } = await setup();
    await expect(toxiproxy.proxy("no-such-proxy")).rejects.toMatchObject({ code: "HARNESS_ERR_TOXIPROXY" });
    await expect(proxy.removeToxic("no-such-toxic")).rejects.toMatchObject({ code: "HARNESS_ERR_TOXIPROXY" });
    await expect(toxiproxy.createProxy({ name: proxy.name, listen: proxy.listen, upstream: proxy.upstream })).rejects.toMatchObject({ code: "HARNESS_ERR_TOXIPROXY" });
  });
});
