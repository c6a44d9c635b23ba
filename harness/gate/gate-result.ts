/**
 * The gate's report model (`gate.json`): the unbroken runs, the sensitivity matrix and the verdict. gate.md and
 * junit.xml are rendered from it alone (gate-report.ts).
 */
import type { RunResult, RunStatus } from "../report/run-result.js";

/** One scenario run of the gate, unbroken or under a defect. */
export interface GateRun {
  scenario: string;
  /** The defect switched on (`TRAFFIC_COP_DEFECTS`), or `null` for the unbroken reference gateway. */
  defect: string | null;
  run_id: string;
  status: RunStatus;
  exit_code: number;
  /** Names of the checks (and thresholds, failed steps) that failed. */
  failed_checks: string[];
  duration_ms: number;
  /** The run's own report directory (run.json, index.html, junit.xml). */
  report_dir: string;
  /**
   * The machine's 1-minute load average as the run started and as it ended (`os.loadavg()`), when recorded. On 2
   * cores the scenarios' bounds hold up to about 25; far above it commands time out past the gateway's 1 s bound.
   */
  load_average?: { start: number; end: number };
  error?: { code?: string; message: string };
}

/**
 * A cell of the matrix: `caught` (the run failed a check), `escaped` (the run passed: this scenario cannot see the
 * defect), `error` (the harness could not run it: counts as not caught), `not-run` (an earlier scenario caught it
 * and the gate was not asked for `--full`).
 */
export type CellOutcome = "caught" | "escaped" | "error" | "not-run";

/** One cell of the matrix. */
export interface GateCell {
  scenario: string;
  outcome: CellOutcome;
  /** The run, unless `not-run`. */
  run?: GateRun;
}

/** One row of the matrix: a defect and what each scenario made of it. */
export interface GateRow {
  defect: string;
  behaviour: string;
  /** The check the catalogue says must fail (src/gateway/failpoints.ts `mustFail`). */
  must_fail: string;
  cells: GateCell[];
  /** The first scenario that caught it, with the checks that failed; `null` when it escaped every scenario run. */
  caught_by: { scenario: string; checks: string[] } | null;
}

/** `gate.json`. */
export interface GateResult {
  gate_id: string;
  started_at: string;
  duration_ms: number;
  seed: number;
  /** `--full`: every scenario against every defect, instead of stopping at the first catch. */
  full: boolean;
  /** Concurrent scenario runs. */
  jobs: number;
  scenarios: string[];
  defects: string[];
  /** The unbroken reference gateway, each scenario's `ci` profile (empty when the gate skipped them). */
  reference: GateRun[];
  matrix: GateRow[];
  verdict: {
    pass: boolean;
    /** Scenarios the unbroken gateway did not pass. */
    reference_failures: string[];
    /** Defects no scenario caught. */
    escaped: string[];
    /** Set when the gate was aborted (Ctrl-C) before it finished. */
    aborted?: boolean;
  };
  /** 0 passed; 1 the unbroken gateway failed something or a defect escaped; 2 the harness could not run or was aborted. */
  exit_code: number;
}

/** The {@link GateRun} of a finished scenario run. */
export function gateRunOf(result: RunResult, defect: string | null, reportDir: string, loadAverage?: { start: number; end: number }): GateRun {
  return {
    scenario: result.scenario,
    defect,
    run_id: result.run_id,
    status: result.status,
    exit_code: result.exit_code,
    failed_checks: result.checks.filter((check) => !check.pass).map((check) => check.name),
    duration_ms: result.duration_ms,
    report_dir: reportDir,
    ...(loadAverage ? { load_average: loadAverage } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
}

/** The outcome of a run under a defect: caught only when the run completed and failed at least one check. */
export function outcomeOf(run: GateRun): Exclude<CellOutcome, "not-run"> {
  if (run.status === "failed" && run.failed_checks.length > 0) return "caught";
  if (run.status === "passed") return "escaped";
  return "error";
}

/** The verdict and exit code of a gate's runs. */
export function gateVerdict(reference: readonly GateRun[], matrix: readonly GateRow[], aborted: boolean): Pick<GateResult, "verdict" | "exit_code"> {
  const referenceFailures = reference.filter((run) => run.status !== "passed").map((run) => run.scenario);
  const escaped = matrix.filter((row) => row.caught_by === null).map((row) => row.defect);
  const pass = !aborted && referenceFailures.length === 0 && escaped.length === 0;
  const harnessError = reference.some((run) => run.status === "error" || run.status === "aborted");
  return {
    verdict: { pass, reference_failures: referenceFailures, escaped, ...(aborted ? { aborted: true } : {}) },
    exit_code: aborted || harnessError ? 2 : pass ? 0 : 1,
  };
}
