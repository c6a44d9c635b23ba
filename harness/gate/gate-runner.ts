/**
 * `npm run gate`: every selected scenario's `ci` profile against the unbroken reference gateway, then the
 * sensitivity matrix: each negative-control defect of the reference gateway (`TRAFFIC_COP_DEFECTS`) against the
 * scenarios, in the order its catalogue entry suggests, stopping at the first scenario that catches it unless
 * `full`. Runs go through the same engine as `npm run scenario`, each into its own report directory under the
 * gate's `runs/`.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import type { FailpointSpec } from "../../src/gateway/failpoints.js";
import { forEachBounded } from "../common/bounded.js";
import type { Reporter } from "../report/reporter.js";
import { bundleReferenceGateway } from "../runtime/gateway-bundle.js";
import type { ResolvedSutDefinition } from "../runtime/sut.js";
import type { ScenarioDefinition } from "../scenario/define-scenario.js";
import { runScenario } from "../scenario/engine.js";
import { planMatrix } from "./gate-plan.js";
import { gateRunOf, gateVerdict, outcomeOf, type GateCell, type GateResult, type GateRow, type GateRun } from "./gate-result.js";

/** Most scenario runs at once: each run is a whole topology (Redis, proxies, gateways, fleet workers) on 2 cores. */
export const MAX_GATE_JOBS = 2;
/**
 * `npm run gate`'s default: a ci run spends most of its time waiting on its faults, TTLs and bounds (a gate of 48
 * runs two at a time took 2.9 min of CPU in 4.5 min here, load average 1-2), so two at once nearly halve the wall time.
 */
export const DEFAULT_GATE_JOBS = 2;

/** Options of {@link runGate}. */
export interface RunGateOptions {
  gateId: string;
  /** The gate's report directory (`reports/gate-<id>`); runs go to its `runs/`. */
  dir: string;
  /** Seed of every run (each scenario derives its own random choices from it). */
  seed: number;
  /** The scenarios, loaded (`loadScenario`). */
  scenarios: readonly ScenarioDefinition[];
  /** The defects of the matrix (`selectDefects`). */
  defects: readonly FailpointSpec[];
  /** Every scenario against every defect, instead of stopping at the first catch. @default false */
  full?: boolean;
  /** Run the unbroken reference first. @default true */
  reference?: boolean;
  /** Concurrent scenario runs, 1..{@link MAX_GATE_JOBS}. @default 1 */
  jobs?: number;
  /** Main hold time of the matrix runs in seconds (the unbroken runs keep their profile's). @default the profile's */
  matrixDurationS?: number;
  /** Aborts the gate: the runs in flight tear down, nothing new starts. */
  signal?: AbortSignal;
  /** Called as each run ends (progress lines). */
  onRun?(run: GateRun, outcome: string): void;
  /** Extra reporters per run (e.g. a Markdown summary). */
  reporters?: () => Reporter[];
  /**
   * The system under test of every run. @default the reference gateway bundled once into the gate's directory
   * (harness/runtime/gateway-bundle.ts): every run starts several gateways, and plain `node` starts the bundle in
   * about half the time tsx takes to start `src/`
   */
  sut?: ResolvedSutDefinition;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Runs the gate; never throws for a failed run (it is a result), only for harness failures outside any run. */
export async function runGate(options: RunGateOptions): Promise<GateResult> {
  const started = Date.now();
  const jobs = Math.min(MAX_GATE_JOBS, Math.max(1, options.jobs ?? 1));
  const runsDir = join(options.dir, "runs");
  const byName = new Map(options.scenarios.map((scenario) => [scenario.name, scenario]));
  const names = options.scenarios.map((scenario) => scenario.name);
  const sut = options.sut ?? (await bundleReferenceGateway(options.dir));
  const runOne = async (name: string, defect: string | null): Promise<GateRun> => {
    const scenario = byName.get(name)!;
    const runId = `${options.gateId}-${defect ?? "reference"}-${name}`;
    const loadAtStart = loadavg()[0]!;
    const { result, reportDir } = await runScenario({
      scenario,
      sut,
      runId,
      seed: options.seed,
      outDir: runsDir,
      ...(defect !== null ? { gatewayEnv: { TRAFFIC_COP_DEFECTS: defect } } : {}),
      ...(defect !== null && options.matrixDurationS !== undefined ? { durationS: options.matrixDurationS } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.reporters ? { reporters: options.reporters() } : {}),
    });
    return gateRunOf(result, defect, reportDir, { start: round2(loadAtStart), end: round2(loadavg()[0]!) });
  };

  // One pool for the unbroken runs and the matrix rows, the unbroken runs first: a defect's row does not wait for
  // the last unbroken run to end, so no job idles at the turn (the verdict judges both parts apart).
  const slots: (GateRun | undefined)[] = names.map(() => undefined);
  const referenceTasks =
    options.reference === false
      ? []
      : names.map((name, i) => async () => {
          const run = await runOne(name, null);
          slots[i] = run;
          options.onRun?.(run, run.status === "passed" ? "passed" : run.status);
        });

  const plans = planMatrix(options.defects, names);
  // Every row starts with a cell per column, so that a gate stopped early (Ctrl-C) still renders whole.
  const rows: GateRow[] = plans.map(({ defect }) => ({ defect: defect.name, behaviour: defect.behaviour, must_fail: defect.mustFail, cells: names.map((name) => ({ scenario: name, outcome: "not-run" })), caught_by: null }));
  const rowTasks = plans.map((plan, i) => async () => {
    const row = rows[i]!;
    const cells = new Map<string, GateCell>();
    for (const name of plan.scenarios) {
      if (options.signal?.aborted === true) break;
      if (row.caught_by !== null && options.full !== true) continue;
      const run = await runOne(name, plan.defect.name);
      const outcome = outcomeOf(run);
      cells.set(name, { scenario: name, outcome, run });
      if (outcome === "caught" && row.caught_by === null) row.caught_by = { scenario: name, checks: run.failed_checks };
      options.onRun?.(run, outcome === "caught" ? `caught by ${run.failed_checks.join(", ")}` : outcome);
    }
    // Cells in the column order of the table (scenario names), whatever order they ran in.
    row.cells = names.map((name) => cells.get(name) ?? { scenario: name, outcome: "not-run" });
  });
  await forEachBounded([...referenceTasks, ...rowTasks], jobs, (task) => task(), options.signal);
  const reference = slots.filter((run): run is GateRun => run !== undefined);

  const aborted = options.signal?.aborted === true;
  return {
    gate_id: options.gateId,
    started_at: new Date(started).toISOString(),
    duration_ms: Date.now() - started,
    seed: options.seed,
    full: options.full === true,
    jobs,
    scenarios: names,
    defects: options.defects.map((defect) => defect.name),
    reference,
    matrix: rows,
    ...gateVerdict(reference, rows, aborted),
  };
}
