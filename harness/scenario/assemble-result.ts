import { basename } from "node:path";
import type { FleetSummary } from "../fleet/client-fleet.js";
import type { Recorder } from "../recorder/recorder.js";
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
  /** The fleet's summary without its histograms ({@link summariseFleet}). */
  fleetSummary: Record<string, unknown> | undefined;
  /** The `--baseline` comparison, as the run gate made it. */
  baseline: Record<string, unknown> | undefined;
}

/** The run result (run.json's model) of a finished run; exit code 0 passed, 1 failed, 2 error or aborted. */
export function assembleResult(run: FinishedRun): RunResult {
  const { status, error, checks, startedAt, endedAt, recorder } = run;
  const fleetTotals = run.fleetSummary;
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
    ...(recorder.eventLogPath !== undefined ? { event_log: { file: basename(recorder.eventLogPath), events: recorder.eventCount, omitted: recorder.eventsOmitted } } : {}),
    samples: recorder.samples,
    checks,
    ...(fleetTotals ? { fleet_summary: fleetTotals } : {}),
    ...(run.baseline ? { baseline: run.baseline } : {}),
    ...(error ? { error } : {}),
  };
}

/** The fleet summary without its histograms (run.json keeps the percentiles). */
export function summariseFleet(summary: FleetSummary): Record<string, unknown> {
  const { histograms: _histograms, ...rest } = summary;
  return rest as unknown as Record<string, unknown>;
}
