import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CheckName } from "../../harness/checks/check.js";
import type { RunResult } from "../../harness/report/run-result.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { runScenario } from "../../harness/scenario/engine.js";
import scenario from "../fixtures/all-checks-scenario.js";
import { expectRecordedEvents, recordedEvents } from "../helpers/scenario-run.js";

const SEED = 7;

/**
 * Each negative control and the check it must make fail (docs/protocol.md, "Negative controls"). The defects whose
 * failing check another test already shows in a scenario (no-heartbeat, no-unregister, no-resume: the gate's matrix
 * in test/integration/gate.test.ts; no-tenant-check: scenarios-lifecycle; drop-remote: scenarios-links) are not run
 * again here; the two the fixture is sized for
 * (about 1,100 remote deliveries far from any fault, so that a 1-in-100 loss shows on every seed) and the memory
 * registry stay.
 */
const CONTROLS: { control: string; defects?: string; registry?: "memory"; fails: CheckName }[] = [
  { control: "TRAFFIC_COP_DEFECTS=drop-remote-1pct", defects: "drop-remote-1pct", fails: "delivery" },
  { control: "TRAFFIC_COP_DEFECTS=echo-sender", defects: "echo-sender", fails: "delivery" },
  { control: "REGISTRY=memory", registry: "memory", fails: "cross-instance-lookup" },
  { control: "REGISTRY=memory", registry: "memory", fails: "degraded-mode" },
];

const runs = new Map<string, Promise<RunResult>>();

/** Runs the all-checks fixture once per control (two rows may share a run) and asserts nothing is left behind. */
function run(control: { defects?: string; registry?: "memory" }): Promise<RunResult> {
  const key = `${control.defects ?? ""}/${control.registry ?? "redis"}`;
  let pending = runs.get(key);
  if (!pending) {
    pending = (async () => {
      const out = await mkdtemp(join(tmpdir(), "traffic-cop-checks-"));
      try {
        const { result, reportDir } = await runScenario({
          scenario,
          seed: SEED,
          outDir: out,
          registry: control.registry ?? "redis",
          gatewayEnv: control.defects ? { TRAFFIC_COP_DEFECTS: control.defects } : {},
        });
        // A run that never started its topology (one fresh-clone CI run, the REGISTRY=memory control) says why here.
        const instances = result.topology.instances as { port: number }[] | undefined;
        expect(instances, `run ${result.run_id} (${result.status}) started no topology: ${JSON.stringify(result.error)}`).toBeDefined();
        expect(await findLeftovers({ runId: result.run_id, ports: instances!.map((i) => i.port) })).toEqual({ processes: [], listening: [] });
        expectRecordedEvents(await recordedEvents(reportDir));
        return result;
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    })();
    runs.set(key, pending);
  }
  return pending;
}

function verdicts(result: RunResult): Record<string, boolean> {
  return Object.fromEntries(result.checks.map((c) => [c.name, c.pass]));
}

describe.sequential("invariant checks against the reference gateway", { timeout: 120_000 }, () => {
  it("should pass every check without a negative control", async () => {
    const result = await run({});
    expect(result.status, JSON.stringify(result.checks.filter((c) => !c.pass), null, 1)).toBe("passed");
    expect(verdicts(result)).toEqual({
      "no-ghosts": true,
      "restart-survival": true,
      "cross-instance-lookup": true,
      "ttl-expiry": true,
      "tenant-isolation": true,
      delivery: true,
      "degraded-mode": true,
    });
    const check = (name: string) => result.checks.find((c) => c.name === name)!;
    // Each check really exercised something.
    expect(check("restart-survival").actual).toMatchObject({ sessions_with_state: 3, session_state_failures: 0 });
    expect(check("cross-instance-lookup").actual).toMatchObject({ instances: 3, route_probes_unreached: 0 });
    expect((check("cross-instance-lookup").actual as { route_probes: number }).route_probes).toBeGreaterThanOrEqual(2);
    expect((check("ttl-expiry").actual as { vanished: number }).vanished).toBeGreaterThanOrEqual(3);
    expect((check("tenant-isolation").actual as { attempts: number }).attempts).toBeGreaterThanOrEqual(16);
    expect((check("degraded-mode").actual as { lookups_during_partition: number }).lookups_during_partition).toBeGreaterThan(0);
    expect(result.events.filter((e) => e.source === "probe" && e.type === "isolation_probe").every((e) => e.leaked === false)).toBe(true);
    expectRecordedEvents(result.events, ["probe/stranded", "probe/lookup_probe", "probe/route_probe", "probe/isolation_probe", "engine/check_result"]);
    // Enough routes far from any fault for a 1% loss to show (see the fixture's sizing), all received as expected.
    const routes = check("delivery").actual as Record<string, number>;
    expect(routes.steady_routes).toBeGreaterThanOrEqual(1_000);
    expect(routes).toMatchObject({ lost_outside_faults: 0, unexpected_recipients: 0, ack_mismatches_outside_faults: 0 });
  });

  it.each(CONTROLS)("should fail $fails under $control", async ({ defects, registry, fails }) => {
    const result = await run({ ...(defects ? { defects } : {}), ...(registry ? { registry } : {}) });
    expect(result).toMatchObject({ status: "failed", exit_code: 1 });
    const check = result.checks.find((c) => c.name === fails)!;
    expect(check.pass, JSON.stringify(check.actual)).toBe(false);
    // The new controls must be caught by the oracle itself, not by the coarse ratio.
    if (defects === "drop-remote-1pct") expect((check.actual as Record<string, number>).lost_outside_faults).toBeGreaterThan(0);
    if (defects === "echo-sender") expect((check.actual as Record<string, number>).unexpected_recipients).toBeGreaterThan(0);
    if (fails === "degraded-mode") {
      // The memory registry never fails a lookup: the partition's lookups are answered as if Redis were there.
      const failures = (check.evidence as { failures: { reason: string }[] }).failures;
      expect(failures.some((f) => f.reason === "lookup did not fail with REGISTRY_UNAVAILABLE"), JSON.stringify(failures)).toBe(true);
    }
  });
});
