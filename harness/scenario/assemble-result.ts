import { readFile } from "node:fs/promises";
import type { FleetSummary } from "../fleet/client-fleet.js";
import type { Recorder } from "../recorder/recorder.js";
import { compareWithBaseline, type ComparedRun } from "../report/baseline-comparison.js";
import { RUN_RESULT_SCHEMA_VERSION, type CheckResult, type RunResult, type RunStatus } from "../report/run-result.js";
import type { ScenarioDefinition } from "./define-scenario.js";
import type { PlannedStep } from "./step.js";

/** Everything a finished run knows, from which run.json is made. */
export interface FinishedRun {
  runId: string;
  scenario: ScenarioDefinition;
  status: RunStatus;
  error: RunResult["error"];
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms. */
  endedAt: number;
  seed: number;
  profileName: string;
  config: Record<string, unknown>;
  topology: Record<string, unknown>;
  plan: PlannedStep[];
  recorder: Recorder;
  checks: CheckResult[];
  fleetSummary: FleetSummary | undefined;
  /** Path of a previous run.json to compare with (`--baseline`). */
  baseline: string | undefined;
}

/** The run result (run.json's model) of a finished run; exit code 0 passed, 1 failed, 2 error or aborted. */
export async function assembleResult(run: FinishedRun): Promise<RunResult> {
  const { status, error, checks, startedAt, endedAt, recorder } = run;
  const fleetTotals = run.fleetSummary ? summarise(run.fleetSummary) : undefined;
  return {
    schema_version: RUN_RESULT_SCHEMA_VERSION,
    run_id: run.runId,
    scenario: run.scenario.name,
    description: run.scenario.description,
    status,
    exit_code: status === "passed" ? 0 : status === "failed" ? 1 : 2,
    started_at: new Date(startedAt).toISOString(),
    ended_at: new Date(endedAt).toISOString(),
    duration_ms: endedAt - startedAt,
    seed: run.seed,
    profile: run.profileName,
    config: run.config,
    topology: run.topology,
    plan: run.plan,
    phases: recorder.phases,
    events: recorder.events,
    samples: recorder.samples,
    checks,
    ...(fleetTotals ? { fleet_summary: fleetTotals } : {}),
    ...(run.baseline ? { baseline: await compareBaseline(run.baseline, { checks, duration_ms: endedAt - startedAt, ...(fleetTotals ? { fleet_summary: fleetTotals } : {}) }) } : {}),
    ...(error ? { error } : {}),
  };
}

/** The fleet summary without its histograms (run.json keeps the percentiles). */
function summarise(summary: FleetSummary): Record<string, unknown> {
  const { histograms: _histograms, ...rest } = summary;
  return rest as unknown as Record<string, unknown>;
}

async function compareBaseline(path: string, current: ComparedRun): Promise<Record<string, unknown>> {
  try {
    const baseline = JSON.parse(await readFile(path, "utf8")) as Partial<RunResult>;
    return { path, ...compareWithBaseline(current, baseline) };
  } catch (caught) {
    return { path, error: (caught as Error).message };
  }
}
