/**
 * `npm run gate -- [options]`: the unbroken reference gateway through every scenario's `ci` profile, then the
 * sensitivity matrix (harness/gate/gate-runner.ts). Writes reports/gate-<id>/{gate.json,gate.md,junit.xml} and
 * prints the matrix. Exit code: 0 passed, 1 a scenario failed the unbroken gateway or a defect escaped, 2 the
 * harness could not run.
 */
import { randomBytes, randomInt } from "node:crypto";
import { join, resolve } from "node:path";
import { describeFault } from "../faults/fault.js";
import { assertRuntimeAvailable, runtimeCapabilities } from "../runtime/create-runtime.js";
import type { ScenarioDefinition } from "../scenario/define-scenario.js";
import { planScenario } from "../scenario/engine.js";
import { unsupportedFault } from "../scenario/steps/fault.js";
import { REPO_ROOT } from "../runtime/sut.js";
import { killOwnedProcessesSync } from "../runtime/sweep.js";
import { HarnessError } from "../errors.js";
import { selectDefects, selectScenarios } from "../gate/gate-plan.js";
import { writeGateReport, renderGateTable } from "../gate/gate-report.js";
import { runGate } from "../gate/gate-runner.js";
import { GATE_USAGE, parseGateArgs } from "./gate-args.js";
import { listScenarioNames, loadScenario } from "./scenarios.js";

function fail(error: unknown, showUsage: boolean): number {
  const code = (error as { code?: string }).code;
  process.stderr.write(`error${code ? ` ${code}` : ""}: ${(error as Error).message ?? String(error)}\n`);
  if (showUsage) process.stderr.write(`\n${GATE_USAGE}\n`);
  return 2;
}

/** Whether the local runtime here can run every fault of `scenario`'s ci plan; prints why not when it cannot. */
function runnableHere(scenario: ScenarioDefinition): boolean {
  const capabilities = runtimeCapabilities("local", scenario.redis ?? "standalone");
  for (const step of planScenario({ scenario, seed: 1 })) {
    if (step.kind !== "fault") continue;
    const missing = unsupportedFault(step.fault, capabilities);
    if (missing) {
      process.stdout.write(`leaving out ${scenario.name}: ${describeFault(step.fault)} needs the capability ${missing}, which the local runtime here lacks\n`);
      return false;
    }
  }
  return true;
}

async function main(argv: string[]): Promise<number> {
  let args;
  let defects;
  let scenarios;
  try {
    args = parseGateArgs(argv);
    if (args.help) {
      process.stdout.write(`${GATE_USAGE}\n`);
      return 0;
    }
    defects = selectDefects(args.defects);
    scenarios = await Promise.all(selectScenarios(args.scenarios, await listScenarioNames()).map((name) => loadScenario(name)));
    // Unless named: leave out the scenarios whose faults this machine's local runtime cannot run (packet faults
    // without root), saying so, rather than failing the whole gate on them.
    if (args.scenarios === undefined) scenarios = scenarios.filter((scenario) => runnableHere(scenario));
  } catch (error) {
    return fail(error, (error as { code?: string }).code === "HARNESS_ERR_USAGE");
  }
  try {
    assertRuntimeAvailable("local");
  } catch (error) {
    return fail(error, false);
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z").replace("T", "-");
  const gateId = `gate-${stamp}-${randomBytes(2).toString("hex")}`;
  const dir = resolve(args.out ?? join(REPO_ROOT, "reports"), gateId);
  const seed = args.seed ?? randomInt(1, 2 ** 31 - 1);
  process.stdout.write(`${gateId}: seed ${seed}, ${scenarios.length} scenarios, ${defects.length} defects${args.full ? ", full matrix" : ""}\n`);
  const handlers = installGateShutdown(gateId);
  try {
    let done = 0;
    const result = await runGate({
      gateId,
      dir,
      seed,
      scenarios,
      defects,
      full: args.full,
      reference: args.reference,
      jobs: args.jobs,
      ...(args.matrixDurationS !== undefined ? { matrixDurationS: args.matrixDurationS } : {}),
      signal: handlers.signal,
      onRun: (run, outcome) => {
        done++;
        const load = run.load_average ? `, load ${run.load_average.start.toFixed(1)}-${run.load_average.end.toFixed(1)}` : "";
        process.stdout.write(`[${done}] ${run.scenario.padEnd(14)} ${(run.defect ?? "(unbroken)").padEnd(30)} ${outcome} (${(run.duration_ms / 1_000).toFixed(1)} s${load})\n`);
      },
    });
    const files = await writeGateReport(result, dir);
    process.stdout.write(`\n${renderGateTable(result)}`);
    for (const file of files) process.stdout.write(`report: ${file}\n`);
    return result.exit_code;
  } finally {
    handlers.dispose();
  }
}

/**
 * Ctrl-C: the first signal aborts the runs in flight (they tear down and report `aborted`) and starts no new one;
 * a second kills every process this gate spawned (each run tags its processes with its own run id and this
 * process as owner) and exits. Those processes are killed on exit too.
 */
function installGateShutdown(gateId: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      process.stderr.write(`\n${signal}: stopping the gate after the runs in flight tear down (again to force)\n`);
      controller.abort(new HarnessError("HARNESS_ERR_ABORTED", `gate ${gateId} aborted by ${signal}`));
      return;
    }
    const killed = killOwnedProcessesSync();
    process.stderr.write(`\nsecond ${signal}: killed ${killed.length} process(es) of gate ${gateId}\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  const onExit = () => void killOwnedProcessesSync();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("exit", onExit);
    },
  };
}

process.exitCode = await main(process.argv.slice(2));
