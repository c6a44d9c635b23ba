import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { CheckName } from "../../harness/checks/check.js";
import { RUN_EVENT_TYPES, isRunEvent, runEventProblem } from "../../harness/events/run-event-guard.js";
import { eventsOf, type RunEventOf } from "../../harness/events/run-events.js";
import type { FaultKind } from "../../harness/faults/fault.js";
import type { CheckResult, RunResult } from "../../harness/report/run-result.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { findNetworkLeftovers } from "../../harness/runtime/network-sweep.js";
import type { ScenarioDefinition } from "../../harness/scenario/define-scenario.js";
import { runScenario } from "../../harness/scenario/engine.js";

/** A negative control: a deliberately broken gateway (`TRAFFIC_COP_DEFECTS`) or the `memory` registry. */
export interface NegativeControl {
  defects?: string;
  registry?: "memory";
}

/** Every port a run's topology listened on: gateways, Redis and the proxy server's API. */
function portsOf(result: RunResult): number[] {
  const topology = result.topology as { instances?: { port: number }[]; redis?: { nodes?: { port: number }[] }; toxiproxy?: string };
  const ports = [...(topology.instances ?? []).map((i) => i.port), ...(topology.redis?.nodes ?? []).map((n) => n.port)];
  if (typeof topology.toxiproxy === "string") ports.push(Number(new URL(topology.toxiproxy).port));
  return ports;
}

/** Asserts that no process tagged with the run's id and no port of its topology is left. */
export async function expectNoLeftovers(result: RunResult): Promise<void> {
  expect(await findLeftovers({ runId: result.run_id, ports: portsOf(result) })).toEqual({ processes: [], listening: [] });
  expect(findNetworkLeftovers(result.run_id)).toEqual({ namespaces: [], tables: [] });
}

/** Every `source/type` the run event union declares. */
const DECLARED_EVENT_KINDS: readonly string[] = Object.entries(RUN_EVENT_TYPES).flatMap(([source, types]) => types.map((type) => `${source}/${type}`));

/** What every run that started its topology records: its start, phases, the fleet's welcomes, process states. */
const EVERY_RUN_RECORDS = ["engine/run_start", "phase/phase_start", "fleet/welcome", "process/process_state", "runtime/topology_started"];

/** Reads a run's events back from the run.json it wrote. */
export async function recordedEvents(reportDir: string): Promise<unknown[]> {
  return (JSON.parse(await readFile(join(reportDir, "run.json"), "utf8")) as { events: unknown[] }).events;
}

/**
 * Asserts that every event a run wrote to run.json is a member of the run event union
 * (harness/events/run-event-guard.ts), and that the run recorded each `source/type` of `records` (which the union
 * must declare) besides what every run records.
 */
export function expectRecordedEvents(events: readonly unknown[], records: readonly string[] = []): void {
  const problems = events.map((event, index) => ({ index, problem: runEventProblem(event) })).filter((p) => p.problem !== undefined);
  expect(problems.slice(0, 10), `${problems.length} of ${events.length} events do not parse`).toEqual([]);
  if (records.length === 0) return;
  for (const kind of records) expect(DECLARED_EVENT_KINDS).toContain(kind);
  const seen = new Set(events.filter(isRunEvent).map((event) => `${event.source}/${event.type}`));
  expect([...records, ...EVERY_RUN_RECORDS].filter((kind) => !seen.has(kind))).toEqual([]);
}

/** The run's `fault_end` events of one fault kind, in order. */
export function faultEnds(result: RunResult, kind: FaultKind): RunEventOf<"fault", "fault_end">[] {
  return eventsOf(result.events, "fault", "fault_end").filter((e) => e.kind === kind);
}

/**
 * Runs a scenario in-process (the engine the CLI uses) in its `ci` profile, with an optional negative control,
 * duration override and `--baseline` run.json, into a temporary report directory; asserts that no tagged process and no port of the
 * run is left afterwards, and that every event of its run.json is a member of the run event union.
 */
export async function runCiScenario(
  scenario: ScenarioDefinition,
  options: { seed: number; control?: NegativeControl; durationS?: number; baseline?: string; env?: Record<string, string> },
): Promise<RunResult> {
  const out = await mkdtemp(join(tmpdir(), `traffic-cop-${scenario.name}-`));
  try {
    const { result, reportDir } = await runScenario({
      scenario,
      seed: options.seed,
      outDir: out,
      registry: options.control?.registry ?? "redis",
      gatewayEnv: { ...options.env, ...(options.control?.defects ? { TRAFFIC_COP_DEFECTS: options.control.defects } : {}) },
      ...(options.durationS !== undefined ? { durationS: options.durationS } : {}),
      ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
    });
    await expectNoLeftovers(result);
    expectRecordedEvents(await recordedEvents(reportDir));
    return result;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** The result of one check of a run (fails the test when the run has no such check). */
export function checkOf(result: RunResult, name: CheckName): CheckResult {
  const check = result.checks.find((c) => c.name === name);
  expect(check, `run ${result.run_id} has no ${name} check: ${JSON.stringify(result.checks.map((c) => c.name))}`).toBeDefined();
  return check!;
}

/** Asserts a passing run: exit code 0 and exactly the scenario's declared checks, each passed. */
export function expectPassed(scenario: ScenarioDefinition, result: RunResult): void {
  const failed = result.checks.filter((c) => !c.pass);
  expect(result.status, JSON.stringify({ error: result.error, failed: failed.map((c) => ({ name: c.name, actual: c.actual, evidence: c.evidence })) }, null, 1)).toBe("passed");
  expect(result.exit_code).toBe(0);
  // The profile's thresholds follow the checks as `threshold: …` results; the status above covers their verdicts.
  expect(result.checks.filter((c) => !c.name.startsWith("threshold: ")).map((c) => [c.name, c.pass])).toEqual(scenario.checks.map((name) => [name, true]));
}

/** Asserts a run that a negative control broke: exit code 1 and `fails` failed. */
export function expectFailedBy(result: RunResult, fails: CheckName): CheckResult {
  // A run the control did not break says why through the check's own figures (a passed check's actual).
  const judged = result.checks.find((c) => c.name === fails);
  expect(result, JSON.stringify({ error: result.error, [fails]: judged?.actual })).toMatchObject({ status: "failed", exit_code: 1 });
  const check = checkOf(result, fails);
  expect(check.pass, JSON.stringify(check.actual)).toBe(false);
  return check;
}
