import { describe, expect, it, onTestFinished } from "vitest";
import type { CheckContext } from "../../harness/checks/check.js";
import { restartSurvival } from "../../harness/checks/restart-survival.js";
import type { RunEvent } from "../../harness/events/run-events.js";
import { RegistryReader } from "../../harness/recorder/registry-reader.js";
import { startGateway, TEST_AUTH_SECRET, token } from "../helpers/gateway.js";
import { useRedisClient, useRedisServer } from "../helpers/redis.js";
import { connectMany } from "../helpers/wire-client.js";

/** More sessions than the check reads back at once (16), so that the reads overlap and finish out of order. */
const SESSIONS = 40;
const TENANT = "t-state";

/**
 * `restart-survival`'s session state half, on a real gateway and Redis: every state the run wrote must read back
 * unchanged through a live instance and straight from Redis. The client half has no fleet here (so the check as a
 * whole fails on `clients_before: 0`): these tests judge `session_state_failures` and its evidence only.
 */
describe("restart-survival: session state read back", { timeout: 60_000 }, () => {
  async function setUp() {
    const redis = await useRedisServer();
    const gateway = await startGateway({ redisUrl: redis.url, instanceId: "gw-1" });
    const reader = new RegistryReader({ nodes: [{ host: redis.host, port: redis.port }], cluster: false });
    onTestFinished(() => reader[Symbol.asyncDispose]());
    // A session's state may be written once a connection of the tenant claimed it.
    await connectMany(gateway, token(TENANT), (i) => `state-${i}`, SESSIONS);
    const events: RunEvent[] = [{ t: Date.now(), source: "fault", type: "fault_start", fault_id: "f1", kind: "kill_instance", targets: ["gw-2"], description: "kill gw-2" }];
    for (let i = 0; i < SESSIONS; i++) {
      const sessionId = `state-${i}`;
      const written = { probe_f0: `v${i}a`, probe_f1: `v${i}b` };
      const answer = await gateway.fetch(`/v1/sessions/${sessionId}/state`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token(TENANT)}`, "content-type": "application/json" },
        body: JSON.stringify({ set: written }),
      });
      expect(answer.status).toBe(200);
      events.push({ t: Date.now(), source: "probe", type: "session_state_written", session_id: sessionId, tenant_id: TENANT, via: "gw-1", status: 200, written, answer: null });
    }
    const context = {
      events,
      samples: [],
      registry: reader,
      liveInstances: () => ["gw-1"],
      instanceUrls: { "gw-1": gateway.url },
      authSecret: TEST_AUTH_SECRET,
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 10_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 5_000, minDeliveryRatio: 1 },
    } satisfies CheckContext;
    return { redis, context };
  }

  it("should read every written state back unchanged", async () => {
    const { context } = await setUp();
    const result = await restartSurvival(context);
    expect(result.actual).toMatchObject({ sessions_with_state: SESSIONS, session_state_failures: 0 });
  });

  it("should fail each session whose state changed, in the order of the writes, through the gateway and in Redis", async () => {
    const { redis, context } = await setUp();
    const client = useRedisClient(redis);
    // Changed behind the gateway's back, as a registry that lost or mixed up state would leave it.
    await client.hset("traffic_cop:session:state-31:state", "probe_f1", "lost");
    await client.hdel("traffic_cop:session:state-7:state", "probe_f0");
    const result = await restartSurvival(context);
    expect(result.actual).toMatchObject({ sessions_with_state: SESSIONS, session_state_failures: 4 });
    const failures = (result.evidence as { session_state: { failures: { session_id: string; reason: string; fields: string[] }[] } }).session_state.failures;
    expect(failures.map((f) => [f.session_id, f.reason, f.fields])).toEqual([
      ["state-7", "state changed (read through a live instance)", ["probe_f0"]],
      ["state-7", "state changed (read from Redis)", ["probe_f0"]],
      ["state-31", "state changed (read through a live instance)", ["probe_f1"]],
      ["state-31", "state changed (read from Redis)", ["probe_f1"]],
    ]);
  });
});
