import { describe, expect, it } from "vitest";
import { DEFAULT_DEGRADED_LOOKUP_BOUND_MS } from "../../harness/checks/check.js";
import type { RunResult } from "../../harness/report/run-result.js";
import flood from "../../scenarios/flood.js";
import latency from "../../scenarios/latency.js";
import lookup from "../../scenarios/lookup.js";
import partition from "../../scenarios/partition.js";
import { checkOf, expectFailedBy, expectPassed, runCiScenario } from "../helpers/scenario-run.js";

const SEED = 11;
/** The gateway's documented bound on one Redis command while Redis is unreachable (docs/protocol.md). */
const COMMAND_BOUND_MS = 1_000;

function faultEnds(result: RunResult, kind: string) {
  return result.events.filter((e) => e.source === "fault" && e.type === "fault_end" && e.kind === kind);
}

/**
 * Asserts that a `partition` run either passed, or failed only by the two reference-gateway defects it is known
 * to expose (see scenarios/README.md, "Known findings"):
 * - in the black hole, a lookup queued behind an in-flight Redis batch fails after that batch's command timeout
 *   plus its own (about 2 × 1000 ms), beyond the 1500 ms degraded-lookup bound;
 * - a cross-instance route in flight when the link is cut is delivered, but its ack says `delivered: 0` (the
 *   holder's count cannot come back), which `delivery` reports as a delivery beyond the acked count.
 * Anything else (a socket closed during a partition, a wrong status, a late reconcile, a ghost, a lost message)
 * fails the test.
 */
function expectPassedOrKnownPartitionFindings(result: RunResult): void {
  if (result.status === "passed") return expectPassed(partition, result);
  expect(result, JSON.stringify(result.error)).toMatchObject({ status: "failed", exit_code: 1 });
  expect(checkOf(result, "no-ghosts").pass, JSON.stringify(checkOf(result, "no-ghosts").actual)).toBe(true);
  const degraded = checkOf(result, "degraded-mode");
  expect(degraded.actual).toMatchObject({ partitions: 3, sockets_closed_during_partition: 0 });
  const forms = new Map(result.events.filter((e) => e.source === "fault" && e.type === "fault_start").map((e) => [e.fault_id, String(e.description)]));
  const slow = result.events.filter((e) => e.source === "probe" && e.type === "degraded_lookup" && e.during === true && (e.latency_ms as number) > DEFAULT_DEGRADED_LOOKUP_BOUND_MS);
  for (const lookup of slow) {
    expect(lookup).toMatchObject({ status: 503, code: "REGISTRY_UNAVAILABLE" });
    expect(forms.get(lookup.fault_id as string)).toContain("blackhole");
    expect(lookup.latency_ms as number).toBeLessThanOrEqual(2 * COMMAND_BOUND_MS + 500);
  }
  const failures = (degraded.evidence as { failures: { reason: string }[] }).failures;
  expect(failures.every((f) => f.reason === "lookup failed too slowly"), JSON.stringify(failures)).toBe(true);
  expect((degraded.actual as { reconciled_after_ms: (number | null)[] }).reconciled_after_ms.every((ms) => ms !== null && ms <= partition.profiles.ci.thresholds.settleBoundMs)).toBe(true);
  const delivery = checkOf(result, "delivery");
  expect(delivery.actual, JSON.stringify(delivery.evidence)).toMatchObject({ vanished: 0, duplicates: 0, ratio: 1 });
}

/**
 * The shared-state and link scenarios (lookup, partition, flood, latency) in their `ci` profile against the
 * reference gateway: each passes its declared checks, and fails the matching one under a negative control.
 */
describe.sequential("scenarios lookup, partition, flood, latency (ci profile)", { timeout: 90_000 }, () => {
  it("lookup should pass: probed connections are visible from every instance, routes cross instances", async () => {
    const result = await runCiScenario(lookup, { seed: SEED });
    expectPassed(lookup, result);
    expect(checkOf(result, "cross-instance-lookup").actual).toMatchObject({ connections_probed: 12, instances: 3, route_probes: 6, route_probes_unreached: 0 });
  });

  it("lookup should fail cross-instance-lookup under TRAFFIC_COP_DEFECTS=drop-remote", async () => {
    const result = await runCiScenario(lookup, { seed: SEED, control: { defects: "drop-remote" }, durationS: 1 });
    const check = expectFailedBy(result, "cross-instance-lookup");
    expect((check.actual as { route_probes_unreached: number }).route_probes_unreached).toBeGreaterThan(0);
  });

  it("partition should pass, or fail only by the reference gateway's known black-hole findings", async () => {
    const result = await runCiScenario(partition, { seed: SEED });
    expect(faultEnds(result, "partition").map((e) => [String(e.description).match(/\((\w+),/)?.[1], e.ok])).toEqual([
      ["disable", true],
      ["blackhole", true],
      ["reset", true],
    ]);
    expect((checkOf(result, "degraded-mode").actual as { lookups_during_partition: number }).lookups_during_partition).toBeGreaterThanOrEqual(3 * 3);
    expectPassedOrKnownPartitionFindings(result);
  });

  it("partition should fail degraded-mode under REGISTRY=memory (lookups never fail)", async () => {
    const result = await runCiScenario(partition, { seed: SEED, control: { registry: "memory" } });
    const check = expectFailedBy(result, "degraded-mode");
    const failures = (check.evidence as { failures: { reason: string }[] }).failures;
    expect(failures.some((f) => f.reason === "lookup did not fail with REGISTRY_UNAVAILABLE"), JSON.stringify(failures)).toBe(true);
  });

  it("flood should pass: connect and HTTP floods leave no ghost, lose no message", async () => {
    const result = await runCiScenario(flood, { seed: SEED });
    expectPassed(flood, result);
    const [connectFlood] = faultEnds(result, "connection_flood");
    const floods = (connectFlood!.detail as { floods: { welcomed: number }[] }).floods;
    expect(floods.reduce((n, f) => n + f.welcomed, 0)).toBe(900);
    const loads = result.events.filter((e) => e.source === "probe" && e.type === "http_load");
    expect(loads.map((e) => e.endpoint)).toEqual(["lookup", "route"]);
    for (const load of loads) expect(load).toMatchObject({ non2xx: 0, errors: 0, timeouts: 0 });
    expect(loads.every((e) => (e.ok as number) > 0)).toBe(true);
  });

  it("flood should fail no-ghosts under TRAFFIC_COP_DEFECTS=no-unregister (flood connections stay registered)", async () => {
    const result = await runCiScenario(flood, { seed: SEED, control: { defects: "no-unregister" } });
    const check = expectFailedBy(result, "no-ghosts");
    expect((check.actual as { ghosts: Record<string, number> }).ghosts.records).toBeGreaterThan(0);
  });

  it("latency should pass: lookups and routes work under latency with jitter and under a bandwidth limit", async () => {
    const result = await runCiScenario(latency, { seed: SEED });
    expectPassed(latency, result);
    expect(faultEnds(result, "latency")).toEqual([expect.objectContaining({ ok: true })]);
    expect(faultEnds(result, "bandwidth")).toEqual([expect.objectContaining({ ok: true })]);
    // Both probe rounds ran while their fault was in effect.
    expect((checkOf(result, "cross-instance-lookup").actual as { route_probes: number }).route_probes).toBe(12);
  });

  it("latency should fail delivery under TRAFFIC_COP_DEFECTS=drop-remote", async () => {
    const result = await runCiScenario(latency, { seed: SEED, control: { defects: "drop-remote" } });
    const check = expectFailedBy(result, "delivery");
    expect((check.actual as { ratio: number }).ratio).toBeLessThan(latency.profiles.ci.thresholds.minDeliveryRatio);
  });
});
