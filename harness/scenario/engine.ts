/**
 * The scenario engine: one run end to end, phase by phase. Setup (run-setup.ts), the steps (run-steps.ts, one
 * handler per step kind in steps/), the checks (run-checks.ts), teardown (run-teardown.ts) and the result
 * (assemble-result.ts) each live in their own file; the engine knows the topology only through the `Runtime`
 * interface (runtime/runtime.ts), made by `createRuntime()`.
 */
import { randomBytes, randomInt } from "node:crypto";
import { join, resolve } from "node:path";
import { SYSTEM_CLOCK, type Clock } from "../common/clock.js";
import { createLogger } from "../common/logger.js";
import { EVENT_LOG_FILE } from "../recorder/event-log.js";
import { InstanceLogs } from "../recorder/instance-logs.js";
import { Recorder } from "../recorder/recorder.js";
import type { Reporter } from "../report/reporter.js";
import { createFileReporters } from "../report/reporters.js";
import type { CheckResult, RunResult, RunStatus } from "../report/run-result.js";
import { assertRuntimeAvailable, createRuntime, runtimeCapabilities } from "../runtime/create-runtime.js";
import type { RegistryKind, RuntimeKind } from "../runtime/runtime.js";
import { REFERENCE_SUT, REPO_ROOT, resolveSutDefinition, type ResolvedSutDefinition } from "../runtime/sut.js";
import { sweepNetworkLeftovers } from "../runtime/network-sweep.js";
import { sweepOrphans } from "../runtime/sweep.js";
import { assembleResult, summariseFleet } from "./assemble-result.js";
import { BackgroundTasks } from "./background-tasks.js";
import { resolveProfile, type ProfileName, type ResolvedProfile, type ScenarioDefinition } from "./define-scenario.js";
import { planSteps } from "./plan.js";
import { RunGate } from "./run-gate.js";
import { ReporterHub } from "./reporter-hub.js";
import { throwIfAborted, type RunResources } from "./run-context.js";
import { runChecks } from "./run-checks.js";
import { assertRunnable, startRun } from "./run-setup.js";
import { runSteps } from "./run-steps.js";
import { teardownRun } from "./run-teardown.js";
import type { PlannedStep } from "./step.js";

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  scenario: ScenarioDefinition;
  /** @default "ci" */
  profile?: ProfileName;
  /** Fixes every random choice; a random one is drawn (and reported) when absent. */
  seed?: number;
  /** Override the profile's instance count. */
  instances?: number;
  /** Override the profile's client count. */
  clients?: number;
  /** Override the profile's main hold time, in seconds. */
  durationS?: number;
  /** `REGISTRY` of the gateways. @default "redis" */
  registry?: RegistryKind;
  /** Which runtime runs the topology (`--runtime`). @default "local" */
  runtime?: RuntimeKind;
  /** The system under test. @default the reference gateway */
  sut?: ResolvedSutDefinition;
  /** Directory the run's report directory is created in. @default "<repo>/reports" */
  outDir?: string;
  /** A previous run.json to compare with. */
  baseline?: string;
  /** `--baseline-tolerance`: replaces the profile's latency and error-rate ratios of the comparison (>= 1). */
  baselineTolerance?: number;
  /** Extra reporters (live progress, ...); the file reporters are always added. */
  reporters?: Reporter[];
  /** Extra gateway environment (e.g. `TRAFFIC_COP_DEFECTS` for negative controls). */
  gatewayEnv?: Record<string, string>;
  /** Aborts the run (Ctrl-C); the engine tears down and reports status `aborted`. */
  signal?: AbortSignal;
  /** Run id. @default `<scenario>-<utc time>-<random>` */
  runId?: string;
  clock?: Clock;
}

/** What {@link runScenario} returns. */
export interface ScenarioRun {
  result: RunResult;
  /** The run's report directory. */
  reportDir: string;
  /** Files written (run.json, index.html, junit.xml). */
  files: string[];
}

function newRunId(scenario: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z").replace("T", "-");
  return `${scenario}-${stamp}-${randomBytes(2).toString("hex")}`;
}

/** Resolves the profile with the CLI's overrides. */
export function resolveRunProfile(options: Pick<RunScenarioOptions, "scenario" | "profile" | "instances" | "clients" | "durationS">): ResolvedProfile {
  const base = options.scenario.profiles[options.profile ?? "ci"];
  return resolveProfile(options.scenario, {
    ...base,
    ...(options.instances !== undefined ? { instances: options.instances } : {}),
    ...(options.clients !== undefined ? { clients: options.clients } : {}),
    ...(options.durationS !== undefined ? { durationS: options.durationS } : {}),
  });
}

/** The seeded schedule of a run, without running it: same scenario, profile and seed → same plan. */
export function planScenario(options: Pick<RunScenarioOptions, "scenario" | "profile" | "instances" | "clients" | "durationS" | "runtime"> & { seed: number }): PlannedStep[] {
  const profile = resolveRunProfile(options);
  const capabilities = runtimeCapabilities(options.runtime ?? "local", options.scenario.redis ?? "standalone");
  return planSteps(options.scenario.steps(profile, { seed: options.seed, capabilities }), profile, options.seed);
}

/**
 * Runs one scenario end to end: sweep orphans, start the topology, run the seeded steps while recording,
 * check the invariants, tear down in reverse order, write run.json, index.html and junit.xml. Never throws for
 * a failed check (status `failed`, exit code 1); harness failures give status `error` (exit code 2).
 */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioRun> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  // Thresholds with abortOnFail stop the run through the same signal as Ctrl-C: every step already honours it.
  const gate = new RunGate({ clock, ...(options.signal ? { signal: options.signal } : {}), ...(options.baseline ? { baselinePath: options.baseline } : {}), ...(options.baselineTolerance !== undefined ? { toleranceRatio: options.baselineTolerance } : {}) });
  options = { ...options, signal: gate.signal };
  const scenario = options.scenario;
  const profileName = options.profile ?? "ci";
  const seed = options.seed ?? randomInt(1, 2 ** 31 - 1);
  const runId = options.runId ?? newRunId(scenario.name);
  const reportDir = resolve(options.outDir ?? join(REPO_ROOT, "reports"), runId);
  const log = createLogger("harness:engine").extend(runId);
  const reporters = new ReporterHub([...(options.reporters ?? []), ...createFileReporters(reportDir)], reportDir, log);
  // Every event goes to events.ndjson as it happens; memory keeps the bounded part (recorder.ts).
  const recorder = new Recorder(clock, { eventLogPath: join(reportDir, EVENT_LOG_FILE) });
  // What each instance prints goes to instances/<id>.log beside the report, as it comes.
  const instanceLogs = new InstanceLogs(reportDir);
  const startedAt = clock.now();
  const checks: CheckResult[] = [];
  const stepFailures: CheckResult[] = [];
  let status: RunStatus = "passed";
  let error: RunResult["error"];
  let plan: PlannedStep[] = [];
  const resources: RunResources = { background: new BackgroundTasks(), probeSockets: new Set(), backgroundAbort: new AbortController() };
  const sut = options.sut ?? resolveSutDefinition(REFERENCE_SUT);
  const runtimeKind = options.runtime ?? "local";
  const redisMode = scenario.redis ?? "standalone";
  const config: Record<string, unknown> = {
    runtime: runtimeKind,
    profile: profileName,
    registry: options.registry ?? "redis",
    redis: redisMode,
    sut: { ...sut },
    gateway_env: options.gatewayEnv ?? {},
    overrides: { instances: options.instances, clients: options.clients, duration_s: options.durationS },
    baseline: options.baseline,
    ...(options.baselineTolerance !== undefined ? { baseline_tolerance: options.baselineTolerance } : {}),
  };
  const topology: Record<string, unknown> = {};
  const aborted = () => options.signal?.aborted === true;

  try {
    const profile = resolveRunProfile(options);
    plan = planSteps(scenario.steps(profile, { seed, capabilities: runtimeCapabilities(runtimeKind, redisMode) }), profile, seed);
    gate.watch(profile, recorder);
    Object.assign(config, { resolved_profile: profile, seed });
    assertRuntimeAvailable(runtimeKind);
    await reporters.emit("onRunStart", { runId, scenario: scenario.name, seed, profile: profileName, outDir: reportDir });
    const swept = sweepOrphans();
    // After the processes: a namespace whose processes are gone can be deleted with its veth pair.
    const sweptNetwork = sweepNetworkLeftovers();
    if (sweptNetwork.namespaces.length + sweptNetwork.tables.length > 0) log("swept network leftovers", sweptNetwork);
    recorder.record({ t: clock.now(), source: "engine", type: "run_start", run_id: runId, seed, swept_orphans: swept.map((p) => p.pid) });
    recorder.startPhase("setup");
    await reporters.emit("onPhase", recorder.phases.at(-1)!);
    const runtime = createRuntime(runtimeKind, {
      runId,
      instances: profile.instances,
      redis: redisMode,
      sut,
      registry: options.registry ?? "redis",
      connectionTtlMs: profile.connectionTtlMs,
      heartbeatIntervalMs: profile.heartbeatIntervalMs,
      drainTimeoutMs: profile.drainTimeoutMs,
      env: options.gatewayEnv ?? {},
      // Client-link faults act on a proxy in front of each instance: only runs that have one pay for it.
      clientProxies: plan.some((step) => step.kind === "fault" && step.fault.kind === "client_link"),
      // Likewise packet faults: instances run in namespaces of the run's own only when a packet fault is planned.
      networkNamespaces: plan.some((step) => step.kind === "fault" && (step.fault.kind === "packet_fault" || step.fault.kind === "stale_links")),
      onEvent: recorder.recordRuntime,
      onOutput: instanceLogs.write,
    });
    assertRunnable(runtime, redisMode, plan);
    const settings = { runId, seed, scenario, profile, sut, gatewayEnv: options.gatewayEnv ?? {}, clock, signal: options.signal, recorder, reporters, startedAt };
    const run = await startRun(runtime, settings, resources, topology, stepFailures);
    await runSteps(run, plan);
    throwIfAborted(options.signal);
    await run.background.awaitAll();
    await runChecks(run, checks);
    checks.push(...stepFailures);
    status = checks.every((c) => c.pass) ? "passed" : "failed";
  } catch (caught) {
    const code = (caught as { code?: string }).code;
    status = aborted() || code === "HARNESS_ERR_ABORTED" ? "aborted" : "error";
    error = { ...(code ? { code } : {}), message: (caught as Error)?.message ?? String(caught) };
    log("run failed", { error: error.message });
    checks.push(...stepFailures);
  }
  const teardown = await teardownRun(resources, recorder);
  await instanceLogs.close();
  if (Object.keys(instanceLogs.files).length > 0) topology.instance_logs = instanceLogs.files;
  if (teardown.error && (status === "passed" || status === "failed")) {
    status = "error";
    error = { code: teardown.error.code, message: teardown.error.message };
  } else if (teardown.error?.code === "HARNESS_ERR_PROCESS_EXITED" && status === "error") {
    // A part of the harness's own topology died during the run (the proxy server, which every proxy went with): that
    // is why a later step failed (its proxy API call refused, its fleet never reconnected), so it is the run's error.
    error = { code: teardown.error.code, message: `${teardown.error.message}; the run had stopped on: ${error?.message ?? "an error"}` };
  }

  const endedAt = clock.now();
  const fleetTotals = teardown.fleetSummary ? summariseFleet(teardown.fleetSummary) : undefined;
  recorder.closeEventLog();
  const verdict = await gate.finish({ status, error, checks, durationMs: endedAt - startedAt, ...(fleetTotals ? { fleetSummary: fleetTotals } : {}) });
  ({ status, error } = verdict);
  const result = assembleResult({
    runId,
    scenario,
    status,
    error,
    startedAt,
    endedAt,
    seed,
    profileName,
    config,
    topology,
    plan,
    recorder,
    checks,
    fleetSummary: fleetTotals,
    baseline: verdict.baseline,
  });
  const files = await reporters.finish(result, status);
  return { result, reportDir, files };
}
