import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { CheckName } from "../../harness/checks/check.js";
import { CHECKS } from "../../harness/checks/checks.js";
import { loadScenario } from "../../harness/cli/scenarios.js";
import { eventsOf } from "../../harness/events/run-events.js";
import { runGate } from "../../harness/gate/gate-runner.js";
import type { RunResult } from "../../harness/report/run-result.js";
import { FAILPOINTS, type FailpointSpec } from "../../src/gateway/failpoints.js";
import { expectNoLeftovers } from "../helpers/scenario-run.js";

const SEED = 11;
/** Every check a scenario may name (a list kept here once missed the checks added after it). */
const CHECK_NAMES: readonly string[] = Object.keys(CHECKS);

/**
 * The checks a catalogue entry's `mustFail` names (its text may add a note in parentheses), and the steps it names
 * (`step: …`, the result a step the system under test failed records).
 */
function mustFailChecks(failpoint: FailpointSpec): string[] {
  const named = failpoint.mustFail.replace(/\(.*\)/, "").split(/,\s*/).map((s) => s.trim());
  return named.filter((name) => CHECK_NAMES.includes(name) || name.startsWith("step: "));
}

/** What the run that caught a defect must show beyond the failed check: the defect's own signature. */
const SIGNATURES: Partial<Record<string, (run: RunResult) => void>> = {
  "no-unregister": (run) => expect(actualOf(run, "no-ghosts").ghosts).toMatchObject({ records: expect.any(Number) }),
  "no-resume": (run) => expect(actualOf(run, "restart-survival").survived).toBeLessThan(actualOf(run, "restart-survival").clients_before as number),
  "drop-remote": (run) => expect(actualOf(run, "cross-instance-lookup").route_probes_unreached).toBeGreaterThan(0),
  "no-heartbeat": (run) => expect(actualOf(run, "ttl-expiry").live_records_missing).toBeGreaterThan(0),
  "drop-remote-1pct": (run) => expect(actualOf(run, "delivery").lost_outside_faults).toBeGreaterThan(0),
  "echo-sender": (run) => expect(actualOf(run, "delivery").unexpected_recipients).toBeGreaterThan(0),
  "dup-remote": (run) => expect(actualOf(run, "delivery").duplicates).toBeGreaterThan(0),
  "ack-overcount": (run) => {
    expect(actualOf(run, "delivery").ack_mismatches_outside_faults).toBeGreaterThan(0);
    // The frames themselves went where they should: only the count lies.
    expect(actualOf(run, "delivery")).toMatchObject({ lost_outside_faults: 0, unexpected_recipients: 0, duplicates: 0 });
  },
  "uncounted-remote-routes": (run) => {
    // Only the routes counter lies, and on every instance: the gauges agree, and no other counter falls short.
    const check = run.checks.find((c) => c.name === "metrics-agree")!;
    expect(check.actual).toMatchObject({ disagreeing_instances: 0, counters_judged_on: 3, counter_shortfalls: 3 });
    const shortfalls = (check.evidence as { counter_shortfalls: { counter: string; harness_saw: number; reported: number }[] }).counter_shortfalls;
    expect(new Set(shortfalls.map((s) => s.counter))).toEqual(new Set(["traffic_cop_routes_total"]));
    for (const s of shortfalls) expect(s.reported).toBeLessThan(s.harness_saw);
  },
  "filter-one-field": (run) => expect(actualOf(run, "delivery").unexpected_recipients).toBeGreaterThan(0),
  "no-reconcile": (run) => expect((actualOf(run, "no-ghosts").missing as Record<string, unknown>).records).toBeDefined(),
  "no-tenant-check-session-state": (run) => {
    const leaks = eventsOf(run.events, "probe", "isolation_probe").filter((e) => e.leaked).map((e) => e.kind);
    expect(new Set(leaks)).toEqual(new Set(["session_state_read"]));
  },
  "reap-without-grace": (run) => {
    // The staggered outage met its window, and the first instances back reaped the last one's live records.
    const staggered = eventsOf(run.events, "fault", "fault_end").find((e) => e.kind === "partition" && String(e.description).includes("staggered"));
    expect(staggered?.detail).toMatchObject({ window_met: true });
    expect((actualOf(run, "degraded-mode").records_reaped_after_shared_outage as number[])[0]).toBeGreaterThan(0);
  },
  "refuse-future-iat": (run) => {
    // The skewed instance refused the probe's fresh token for its iat: a failure of the gateway (exit 1), not an error of the harness.
    expect(run.status).toBe("failed");
    const step = run.checks.find((c) => c.name === "step: probe clock skew");
    expect(step?.actual).toMatchObject({ code: "HARNESS_ERR_PROBE_REFUSED", message: expect.stringMatching(/"status":401.*\(iat\)/) });
  },
  "no-link-watchdog": (run) => {
    // Lookups through the instance whose Redis connections were silenced still failed once the recovery bound had passed.
    const stale = eventsOf(run.events, "fault", "fault_start").find((e) => e.kind === "stale_links");
    expect(stale?.targets).toHaveLength(1);
    const failures = (run.checks.find((c) => c.name === "cross-instance-lookup")!.evidence as { failures: { via?: string; status?: number }[] }).failures;
    expect(failures.some((f) => f.via === stale!.targets[0] && f.status === 503)).toBe(true);
  },
  "no-reap": (run) => {
    const check = run.checks.find((c) => c.name === "ttl-expiry")!;
    expect(check.actual).toMatchObject({ live_records_missing: 0, vanished_records_past_bound: expect.any(Number) });
    const late = (check.evidence as { vanished_records_past_bound: { why: string; instance_id: string; websocket_id: string }[] }).vanished_records_past_bound;
    expect(late.map((v) => v.why)).toContain("stranded (kill)");
    // A connection cut half-open on the instance killed next is late too when the kill came before its missed pong
    // (a loaded machine): its record is then the reaper's as well. Cuts on the surviving instances never are.
    const killed = new Set(eventsOf(run.events, "probe", "stranded").filter((e) => e.how === "kill").map((e) => e.instance_id));
    // On a failure the message carries the connection's own events and the run's stalls: the run's report lives in a
    // temporary directory that is gone by the time anyone reads a CI log (a cut on a surviving instance failed it once:
    // the probe's own resumed record, read before its unregister landed; conformance-probe.ts now waits for that).
    const trail = (id: string) => JSON.stringify(run.events.filter((e) => e.type === "harness_stall" || JSON.stringify(e).includes(id)).slice(0, 60));
    for (const v of late) {
      const allowed = v.why === "stranded (kill)" || (v.why === "stranded (cut)" && killed.has(v.instance_id));
      expect(allowed, allowed ? "" : `${JSON.stringify(v)} killed=${JSON.stringify([...killed])} events=${trail(v.websocket_id)}`).toBe(true);
    }
  },
};

function actualOf(run: RunResult, name: CheckName): Record<string, unknown> {
  const check = run.checks.find((c) => c.name === name);
  expect(check, `${run.run_id} has no ${name} check`).toBeDefined();
  return check!.actual as Record<string, unknown>;
}

/**
 * `npm test`'s part of `npm run gate`: the sensitivity matrix, each defect of the catalogue without a test of its own (above) against the scenarios
 * its `caughtBy` names, stopping at the first catch, exactly as the gate runs it. The unbroken runs of the gate are
 * the scenario tests' own (scenarios-lifecycle, scenarios-links, test/scenarios/restart), which assert more of
 * each run. Each caught run must have failed a check its catalogue entry names, with the defect's signature.
 */
/**
 * Defects whose catching check is already shown failing by a test of its own (which asserts more of the run than
 * this file can): running them here again would only double `npm test`'s time. `npm run gate` still runs them all.
 */
const CAUGHT_IN_OWN_TEST: Readonly<Record<string, string>> = Object.freeze({
  "no-tenant-check": "scenarios-lifecycle.test.ts",
  "drop-remote": "scenarios-links.test.ts",
  "drop-remote-1pct": "harness-checks.test.ts",
  "echo-sender": "harness-checks.test.ts",
  "ignore-nbf": "conformance.test.ts",
  "accept-expired": "conformance.test.ts",
  "accept-alg-none": "conformance.test.ts",
  "no-session-pin": "conformance.test.ts",
  "close-on-bad-frame": "conformance.test.ts",
  "silent-rate-limit": "conformance.test.ts",
  "ready-lies": "conformance.test.ts",
  "no-fail-fast": "conformance.test.ts",
  "welcome-before-write": "conformance.test.ts",
  "no-tenant-check-ws-id": "conformance.test.ts",
  "no-tenant-check-http-lookup": "conformance.test.ts",
  "no-drain-notice": "conformance.test.ts",
  "resume-new-id-after-expiry": "conformance.test.ts",
  "pinned-primary": "scenario-sentinel.test.ts",
  "wall-clock-expiry": "nemesis-clock-skew.test.ts",
  "no-half-open-detect": "nemesis-client-path.test.ts",
  "unbounded-send-buffer": "nemesis-slow-consumer.test.ts",
  "no-unregister-on-terminate": "cleanup-checks.test.ts",
  "keys-no-ttl": "cleanup-checks.test.ts",
  "stale-index": "cleanup-checks.test.ts",
  "no-rewake-reregister": "scenarios-pause.test.ts",
  "registrations-count-refusals": "counter-experiment.test.ts",
  "short-pong-deadline": "scenario-packet-loss.test.ts",
});

/** A test file without its comments (block comments, and line comments that start a line). */
function codeOf(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

describe("npm run gate: defects caught by a test of their own", () => {
  it("should name, for each, a test file of test/integration that switches it on", async () => {
    for (const [defect, file] of Object.entries(CAUGHT_IN_OWN_TEST)) {
      expect(FAILPOINTS.map((f) => f.name) as string[], defect).toContain(defect);
      // In code, as a string literal: a comment saying that another file covers it does not switch it on (two
      // defects were once left to a file whose comment sent them back here, and ran nowhere).
      const code = codeOf(await readFile(new URL(file, import.meta.url), "utf8"));
      expect(code.includes(`"${defect}"`), `${file} never switches ${defect} on`).toBe(true);
    }
  });
});

describe.sequential("npm run gate: the sensitivity matrix (ci part)", { timeout: 150_000 }, () => {
  for (const failpoint of FAILPOINTS.filter((f) => CAUGHT_IN_OWN_TEST[f.name] === undefined)) {
    if (failpoint.caughtBy.length === 0) {
      it.todo(`${failpoint.name}: no scenario catches it yet (${failpoint.mustFail}); the full gate reports it as escaped`);
      continue;
    }
    it(`should catch ${failpoint.name} (${failpoint.mustFail}) in ${failpoint.caughtBy.join(" or ")}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `traffic-cop-gate-${failpoint.name}-`));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      const scenarios = await Promise.all(failpoint.caughtBy.map((name) => loadScenario(name)));
      const result = await runGate({ gateId: `gate-test-${failpoint.name}`, dir, seed: SEED, scenarios, defects: [failpoint], reference: false });
      const [row] = result.matrix;
      const tried = row!.cells.filter((cell) => cell.run).map((cell) => ({ scenario: cell.scenario, outcome: cell.outcome, failed: cell.run!.failed_checks, error: cell.run!.error }));
      expect(row!.caught_by, JSON.stringify(tried)).not.toBeNull();
      expect(result).toMatchObject({ exit_code: 0, verdict: { pass: true, escaped: [] } });
      const caught = row!.cells.find((cell) => cell.scenario === row!.caught_by!.scenario)!.run!;
      const run = JSON.parse(await readFile(join(caught.report_dir, "run.json"), "utf8")) as RunResult;
      await expectNoLeftovers(run);
      expect(caught.failed_checks.filter((name) => mustFailChecks(failpoint).includes(name)), JSON.stringify(caught.failed_checks)).not.toEqual([]);
      SIGNATURES[failpoint.name]?.(run);
    });
  }
});
