import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import deploy from "../../scenarios/deploy.js";
import redisRestart from "../../scenarios/redis-restart.js";
import tenants from "../../scenarios/tenants.js";
import ttl from "../../scenarios/ttl.js";
import { checkOf, expectFailedBy, expectPassed, expectRecordedEvents, faultEnds, runCiScenario } from "../helpers/scenario-run.js";

const SEED = 11;

/**
 * The lifecycle scenarios (deploy, ttl, redis-restart, tenants) in their `ci` profile against the reference
 * gateway: each passes its declared checks, and fails the matching one under a negative control (deploy under
 * `no-resume` and ttl under `no-heartbeat`, the checks their catalogue entries name, are cells of the gate's matrix
 * in test/integration/gate.test.ts; redis-restart under `no-heartbeat` shows another check it breaks).
 */
describe.sequential("scenarios deploy, ttl, redis-restart, tenants (ci profile)", { timeout: 90_000 }, () => {
  it("deploy should pass: every instance drained and restarted in turn, clients resume with their state", async () => {
    const result = await runCiScenario(deploy, { seed: SEED });
    expectPassed(deploy, result);
    const [rolling] = faultEnds(result, "rolling_restart");
    expect(rolling).toMatchObject({ ok: true, targets: expect.arrayContaining(["gw-1", "gw-2", "gw-3"]) });
    expect(checkOf(result, "restart-survival").actual).toMatchObject({ clients_before: 90, survived: 90, session_state_failures: 0 });
    expectRecordedEvents(result.events, ["fault/fault_end", "fleet/reconnect_notice"]);
  });

  it("ttl should pass: cut and killed connections expire in time, live ones outlast two TTLs", async () => {
    const result = await runCiScenario(ttl, { seed: SEED });
    expectPassed(ttl, result);
    const stranded = result.events.filter((e) => e.source === "probe" && e.type === "stranded");
    expect(new Set(stranded.map((e) => e.how))).toEqual(new Set(["cut", "kill"]));
    expect(checkOf(result, "ttl-expiry").actual).toMatchObject({ live_connections: 45, vanished: stranded.length, vanished_records_past_bound: 0 });
    expect(stranded.length).toBe(10);
  });

  it("redis-restart should pass: the registry is rebuilt from the live connections after data loss", async () => {
    const result = await runCiScenario(redisRestart, { seed: SEED });
    expectPassed(redisRestart, result);
    expect(faultEnds(result, "redis_restart")).toEqual([expect.objectContaining({ ok: true })]);
    expect(checkOf(result, "no-ghosts").actual).toMatchObject({ live_connections: 60, records: 60 });
  });

  it("redis-restart should fail no-ghosts under TRAFFIC_COP_DEFECTS=no-heartbeat (nothing re-registers)", async () => {
    const result = await runCiScenario(redisRestart, { seed: SEED, control: { defects: "no-heartbeat" }, durationS: 1 });
    const check = expectFailedBy(result, "no-ghosts");
    expect((check.actual as { missing: Record<string, number> }).missing.records).toBeGreaterThan(0);
  });

  it("tenants should pass (every cross-tenant attempt denied like a missing id), and fail tenant-isolation under TRAFFIC_COP_DEFECTS=no-tenant-check as a regression against that run", async () => {
    const passing = await runCiScenario(tenants, { seed: SEED });
    expectPassed(tenants, passing);
    expect((checkOf(passing, "tenant-isolation").actual as { attempts: number }).attempts).toBeGreaterThanOrEqual(6 * 8);
    expectRecordedEvents(passing.events, ["probe/isolation_probe"]);
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-baseline-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const baseline = join(dir, "run.json");
    await writeFile(baseline, JSON.stringify(passing));

    const result = await runCiScenario(tenants, { seed: SEED, control: { defects: "no-tenant-check" }, baseline });
    const check = expectFailedBy(result, "tenant-isolation");
    expect((check.actual as { leaks: number }).leaks).toBeGreaterThan(0);
    expect(result.baseline).toMatchObject({ path: baseline, seed: SEED, regressions: ["tenant-isolation", "protocol-conformance"], fixed: [], added: [], removed: [] });
    expect((result.baseline as { latency_ratios: { ack?: { p50: number | null } } }).latency_ratios.ack?.p50).toBeGreaterThan(0);
  });
});
