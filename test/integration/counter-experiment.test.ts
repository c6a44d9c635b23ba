import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/checks/check.js";
import { EXPERIMENT_ATTEMPTS, runCounterExperiments } from "../../harness/checks/counter-experiment.js";
import type { StartedRedisServer } from "../../harness/runtime/redis-server.js";
import { startGateway, TEST_AUTH_SECRET, type TestGateway } from "../helpers/gateway.js";
import { startSuiteRedis } from "../helpers/redis.js";

/**
 * `metrics-agree`'s counter experiment against real gateways: the reference agrees on the first attempt, alone or
 * with a partner instance; a gateway whose counter counts too much (`registrations-count-refusals`, which every
 * floor of the run-long tallies lets through) or too little (`uncounted-remote-routes`) disagrees on every attempt,
 * and only on the series it breaks;
 * so does one whose closes remove no record (`no-unregister`).
 */
let redis: StartedRedisServer;
const gateways = new Map<string, TestGateway>();

beforeAll(async () => {
  redis = await startSuiteRedis();
  const started = await Promise.all([
    startGateway({ redisUrl: redis.url, instanceId: "ref-1" }, true),
    startGateway({ redisUrl: redis.url, instanceId: "ref-2" }, true),
    startGateway({ redisUrl: redis.url, instanceId: "def-refusals", env: { TRAFFIC_COP_DEFECTS: "registrations-count-refusals" } }, true),
    startGateway({ redisUrl: redis.url, instanceId: "def-remote", env: { TRAFFIC_COP_DEFECTS: "uncounted-remote-routes" } }, true),
    startGateway({ redisUrl: redis.url, instanceId: "def-unregister", env: { TRAFFIC_COP_DEFECTS: "no-unregister" } }, true),
  ]);
  for (const gateway of started) gateways.set(gateway.instanceId, gateway);
});

afterAll(async () => {
  await Promise.allSettled([...gateways.values()].map((gateway) => gateway.stop()));
  await redis?.stop();
});

/** The part of a check context the experiment reads, for the gateways `ids` (in that order: each one's partner is the next). */
function contextOf(...ids: string[]): CheckContext {
  return {
    liveInstances: () => ids,
    instanceUrls: Object.fromEntries(ids.map((id) => [id, gateways.get(id)!.url])),
    authSecret: TEST_AUTH_SECRET,
    wsPath: "/ws",
  } as unknown as CheckContext;
}

describe("metrics-agree: the counter experiment", () => {
  it("should agree on the first attempt with reference gateways, with a partner and alone", async () => {
    expect(await runCounterExperiments(contextOf("ref-1", "ref-2"), "/metrics")).toEqual({ agreed: ["ref-1", "ref-2"], disagreeing: [], disagreed: [], attempts: 2 });
    expect(await runCounterExperiments(contextOf("ref-1"), "/metrics")).toEqual({ agreed: ["ref-1"], disagreeing: [], disagreed: [], attempts: 1 });
  });

  it("should catch a counter that counts too much: a refused upgrade counted as a new registration", async () => {
    const outcome = await runCounterExperiments(contextOf("def-refusals", "ref-1"), "/metrics");
    expect(outcome.agreed).toEqual(["ref-1"]);
    expect(outcome.attempts).toBe(EXPERIMENT_ATTEMPTS + 1);
    expect(outcome.disagreed).toEqual([
      {
        instance: "def-refusals",
        partner: "ref-1",
        mismatches: [{ instance: "def-refusals", series: 'traffic_cop_registrations_total{kind="new"}', expected: 2, changed_by: 3 }],
      },
    ]);
  });

  it("should catch a counter that counts too little: remote deliveries left out of routes_total", async () => {
    const outcome = await runCounterExperiments(contextOf("def-remote", "ref-2"), "/metrics");
    expect(outcome.agreed).toEqual(["ref-2"]);
    // Short of its mark once the reading's bound passed, and nothing past one: no other client's request explains
    // that, so the attempt is final.
    expect(outcome.attempts).toBe(2);
    expect(outcome.disagreed).toEqual([
      {
        instance: "def-remote",
        partner: "ref-2",
        mismatches: [{ instance: "def-remote", series: 'traffic_cop_routes_total{path="remote"}', expected: 1, changed_by: 0 }],
      },
    ]);
  });

  it("should catch closes that remove no record: unregistrations_total still after the sockets closed", async () => {
    const outcome = await runCounterExperiments(contextOf("def-unregister", "ref-2"), "/metrics");
    // As the partner of ref-2's own experiment it misses its one close too: that names it, not ref-2.
    expect(outcome).toEqual({
      agreed: ["ref-2"],
      disagreeing: ["def-unregister"],
      disagreed: [
        { instance: "def-unregister", partner: "ref-2", mismatches: [{ instance: "def-unregister", series: "traffic_cop_unregistrations_total", expected: 2, changed_by: 0 }] },
        { instance: "ref-2", partner: "def-unregister", mismatches: [{ instance: "def-unregister", series: "traffic_cop_unregistrations_total", expected: 1, changed_by: 0 }] },
      ],
      attempts: 2,
    });
  });

  it("should say which request failed when an instance does not answer as the experiment needs", async () => {
    // A wrong secret: every connect is refused, so the experiment cannot be made, and says so.
    const context = { ...contextOf("ref-2"), authSecret: "not-the-gateways-secret" } as CheckContext;
    const outcome = await runCounterExperiments(context, "/metrics");
    expect(outcome.agreed).toEqual([]);
    expect(outcome.disagreeing).toEqual(["ref-2"]);
    expect(outcome.disagreed).toEqual([{ instance: "ref-2", mismatches: [], failed_step: "connect a", detail: expect.objectContaining({ ok: false, status: 401 }) }]);
  });
});
