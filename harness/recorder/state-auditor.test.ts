import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProbeEventInput, RunEvent } from "../events/run-events.js";
import { RedisServer, type StartedRedisServer } from "../runtime/redis-server.js";
import { RegistryReader, type RegistrySnapshot } from "./registry-reader.js";
import { AUDIT_DUTY_FACTOR, StateAuditor } from "./state-auditor.js";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { createRedisClient, waitForRedisReady } from "../../src/registry/redis-client.js";

/** A real reader on a real Redis whose reads report a chosen duration, counting how often it reads. */
class TimedReader extends RegistryReader {
  reads = 0;
  readMs = 0;

  override async snapshot(): Promise<RegistrySnapshot> {
    this.reads++;
    return { ...(await super.snapshot()), read_ms: this.readMs };
  }
}

describe("StateAuditor read pacing", () => {
  let redis: StartedRedisServer;
  beforeAll(async () => {
    redis = await new RedisServer({ runId: "test" }).start();
  });
  afterAll(() => redis.stop());

  function auditor(reader: RegistryReader) {
    const recorded: ProbeEventInput[] = [];
    const events: RunEvent[] = [];
    const audit = new StateAuditor({ events, registry: reader, record: (event) => void recorded.push(event), connectionTtlMs: 30_000, heartbeatIntervalMs: 5_000 });
    return { audit, recorded };
  }

  it("should read on every tick while reads are cheap", async () => {
    await using reader = new TimedReader({ nodes: [{ host: redis.host, port: redis.port }], cluster: false });
    const { audit, recorded } = auditor(reader);
    for (let i = 0; i < 3; i++) await audit.tick();
    await audit.flush();
    expect(reader.reads).toBe(3);
    expect(recorded.filter((e) => e.type === "state_audit")).toHaveLength(3);
  });

  it(`should wait ${AUDIT_DUTY_FACTOR} times the faster of the last two reads before reading again, still judging the pass it read`, async () => {
    await using reader = new TimedReader({ nodes: [{ host: redis.host, port: redis.port }], cluster: false });
    reader.readMs = 60_000;
    const { audit, recorded } = auditor(reader);
    for (let i = 0; i < 3; i++) await audit.tick();
    // The first tick read; the second judged it and skipped its own read; the third had nothing to judge.
    expect(reader.reads).toBe(1);
    expect(recorded.filter((e) => e.type === "state_audit")).toHaveLength(1);
    await audit.flush();
    expect(recorded.filter((e) => e.type === "state_audit")).toHaveLength(1);
  });

  it("should not let one slow read among fast ones thin the audit, only two in a row", async () => {
    await using reader = new TimedReader({ nodes: [{ host: redis.host, port: redis.port }], cluster: false });
    const { audit } = auditor(reader);
    // Spacing: 10 times the faster of the last two reads (10 ms here: 100 ms); the pauses are 150 ms.
    const pause = () => new Promise((resolve) => setTimeout(resolve, 150));
    reader.readMs = 10;
    await audit.tick();
    await pause();
    reader.readMs = 60_000; // a stalled read
    await audit.tick();
    await pause();
    await audit.tick(); // read again: the faster of the last two is 10 ms
    expect(reader.reads).toBe(3);
    await pause();
    await audit.tick(); // two slow reads in a row: 10 minutes
    expect(reader.reads).toBe(3);
    await audit.flush();
  });
});

describe("StateAuditor on reads that fail", () => {
  let redis: StartedRedisServer;
  beforeAll(async () => {
    redis = await new RedisServer({ runId: "test" }).start();
  });
  afterAll(() => redis.stop());

  it("should leave unjudged what a pass could not read, and still judge a real absence", async () => {
    const admin = createRedisClient(redis.url);
    await waitForRedisReady(admin);
    const registry = new RedisConnectionRegistry(admin);
    await using reader = new RegistryReader({ nodes: [{ host: redis.host, port: redis.port }], cluster: false });
    try {
      const now = Date.now();
      const ids = { websocket_id: "w1", session_id: "s1", tenant_id: "t1", agent_type: "a", pillar: "p", instance_id: "gw-1" };
      await registry.register({ ...ids, connected_at: now, last_activity_at: now });
      // The history: w1 connected a minute ago and is still open, far past the bound after a change.
      const events = [{ t: now - 60_000, source: "fleet", type: "welcome", client: "c1", worker: 0, target: "ws://x", resumed: false, latency_ms: 1, ...ids }] as unknown as RunEvent[];
      const recorded: ProbeEventInput[] = [];
      const audit = new StateAuditor({ events, registry: reader, record: (event) => void recorded.push(event), connectionTtlMs: 30_000, heartbeatIntervalMs: 5_000 });
      const passes = () => recorded.filter((e) => e.type === "state_audit") as Extract<ProbeEventInput, { type: "state_audit" }>[];
      // One new pass, read and judged (the auditor spaces its reads by ten times the last one's duration).
      const pass = async () => {
        const before = passes().length;
        await expect
          .poll(async () => {
            await audit.tick();
            await audit.flush();
            return passes().length;
          }, { interval: 20 })
          .toBe(before + 1);
        return passes().at(-1)!;
      };

      // Every PTTL and ZRANGEBYSCORE of the pass fails (refused by an ACL here, as a timed-out command would).
      await admin.call("ACL", "SETUSER", "default", "-pttl", "-zrangebyscore");
      const failed = await pass();
      await admin.call("ACL", "SETUSER", "default", "+@all");
      expect(failed.unread).toBeGreaterThanOrEqual(7); // record, reverse key, session, agent type, pillar, instance, tenant indexes
      expect(failed.divergent).toBe(0);

      expect(await pass()).toMatchObject({ unread: 0, divergent: 0 });

      await admin.del("traffic_cop:session:s1:websocket:w1");
      const absent = await pass();
      expect(absent).toMatchObject({ unread: 0, divergent: 1 });
      expect(absent.divergences).toEqual([expect.objectContaining({ websocket_id: "w1", kind: "missing", families: ["record"] })]);
    } finally {
      await registry.close();
      admin.disconnect();
    }
  });
});

describe("StateAuditor around faults", () => {
  let redis: StartedRedisServer;
  beforeAll(async () => {
    redis = await new RedisServer({ runId: "test" }).start();
  });
  afterAll(() => redis.stop());

  /**
   * One pass over an empty Redis while w1, welcomed a minute ago, is still open (so its keys are missing), with a
   * fault starting `faultAfterMs` after the pass's read began; the read reports 100 ms.
   */
  async function passWithFaultAt(faultAfterMs: number) {
    const events = [
      { t: Date.now() - 60_000, source: "fleet", type: "welcome", client: "c1", worker: 0, target: "ws://x", resumed: false, latency_ms: 1, websocket_id: "w1", session_id: "s1" },
    ] as unknown as RunEvent[];
    class FaultDuringRead extends RegistryReader {
      override async snapshot(): Promise<RegistrySnapshot> {
        const snapshot = { ...(await super.snapshot()), read_ms: 100 };
        events.push({ t: snapshot.t + faultAfterMs, source: "fault", type: "fault_start", fault_id: "f1", kind: "redis_restart", targets: [], description: "redis restart" } as unknown as RunEvent);
        return snapshot;
      }
    }
    await using reader = new FaultDuringRead({ nodes: [{ host: redis.host, port: redis.port }], cluster: false });
    const recorded: ProbeEventInput[] = [];
    const audit = new StateAuditor({ events, registry: reader, record: (event) => void recorded.push(event), connectionTtlMs: 30_000, heartbeatIntervalMs: 5_000 });
    await audit.tick();
    await audit.flush();
    return recorded.find((e) => e.type === "state_audit") as Extract<ProbeEventInput, { type: "state_audit" }>;
  }

  it("should count as in the fault a pass whose read began before the fault's start and ended after it", async () => {
    expect(await passWithFaultAt(50)).toMatchObject({ divergent: 0, transient: 1 });
  });

  it("should judge a pass whose read ended before the fault's start", async () => {
    expect(await passWithFaultAt(150)).toMatchObject({ divergent: 1, transient: 0 });
  });
});
