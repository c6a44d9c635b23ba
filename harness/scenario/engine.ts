import { randomBytes, randomInt } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CHECKS } from "../checks/checks.js";
import type { CheckContext } from "../checks/check.js";
import type { Clock } from "../common/clock.js";
import { SYSTEM_CLOCK } from "../common/clock.js";
import { createLogger } from "../common/logger.js";
import { deriveSeed, SeededRandom } from "../common/random.js";
import { retryUntil } from "../common/retry.js";
import { HarnessError } from "../errors.js";
import { FaultRunner, type FaultEvent } from "../faults/fault-runner.js";
import { startConnectionFlood } from "../load/connection-flood.js";
import { ClientFleet, type FleetSummary, type StartedClientFleet } from "../fleet/client-fleet.js";
import { probeDegradedMode } from "../probes/degraded-mode-probe.js";
import { probeLookups } from "../probes/lookup-probe.js";
import { runHttpLoadProbe, type HttpLoadFailure } from "../probes/http-load-probe.js";
import type { ProbeContext } from "../probes/probe-context.js";
import type { ProbeSocket } from "../probes/probe-io.js";
import { writeSessionState } from "../probes/session-state-probe.js";
import { strandConnections } from "../probes/strand-probe.js";
import { probeTenantIsolation } from "../probes/tenant-isolation-probe.js";
import { Recorder } from "../recorder/recorder.js";
import { RegistryReader } from "../recorder/registry-reader.js";
import { createSampler } from "../recorder/sampler.js";
import { compareWithBaseline, type ComparedRun } from "../report/baseline-comparison.js";
import type { Reporter } from "../report/reporter.js";
import { createFileReporters } from "../report/reporters.js";
import { RUN_RESULT_SCHEMA_VERSION, type CheckResult, type RunResult, type RunStatus } from "../report/run-result.js";
import type { StartedContainerRuntime } from "../runtime/container-runtime.js";
import { assertRunSupported, CONTAINER_RUNTIME_CAPABILITIES, LOCAL_RUNTIME_CAPABILITIES } from "../runtime/containers/capabilities.js";
import { DeferredContainerRuntime } from "../runtime/containers/deferred-container-runtime.js";
import { LocalRuntime, type StartedLocalRuntime } from "../runtime/local-runtime.js";
import type { RuntimeEvent } from "../runtime/runtime.js";
import { REFERENCE_SUT, REPO_ROOT, resolveSutDefinition, type ResolvedSutDefinition } from "../runtime/sut.js";
import { sweepOrphans } from "../runtime/sweep.js";
import { teardownInOrder } from "../runtime/teardown.js";
import { resolveProfile, type ProfileName, type ResolvedProfile, type ScenarioDefinition } from "./define-scenario.js";
import { planSteps } from "./plan.js";
import { describeStep, type PlannedStep } from "./step.js";

const PROGRESS_INTERVAL_MS = 1_000;
const FLUSH_TIMEOUT_MS = 10_000;

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
  registry?: "redis" | "memory";
  /** @default "local" */
  runtime?: "local" | "containers";
  /** The system under test. @default the reference gateway */
  sut?: ResolvedSutDefinition;
  /** Directory the run's report directory is created in. @default "<repo>/reports" */
  outDir?: string;
  /** A previous run.json to compare with. */
  baseline?: string;
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

/** Codes of failures that belong to the system under test (exit 1), not to the harness (exit 2). */
const SUT_FAILURE_CODES = new Set(["HARNESS_ERR_FLEET_TIMEOUT", "HARNESS_ERR_INSTANCE_START_TIMEOUT", "HARNESS_ERR_PROCESS_EXITED", "HARNESS_ERR_INSTANCE_STOP_FAILED"]);

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
export function planScenario(options: Pick<RunScenarioOptions, "scenario" | "profile" | "instances" | "clients" | "durationS"> & { seed: number }): PlannedStep[] {
  const profile = resolveRunProfile(options);
  return planSteps(options.scenario.steps(profile), profile, options.seed);
}

/**
 * Runs one scenario end to end: sweep orphans, start the topology, run the seeded steps while recording,
 * check the invariants, tear down in reverse order, write run.json, index.html and junit.xml. Never throws for
 * a failed check (status `failed`, exit code 1); harness failures give status `error` (exit code 2).
 */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioRun> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const scenario = options.scenario;
  const profileName = options.profile ?? "ci";
  const seed = options.seed ?? randomInt(1, 2 ** 31 - 1);
  const runId = options.runId ?? newRunId(scenario.name);
  const reportDir = resolve(options.outDir ?? join(REPO_ROOT, "reports"), runId);
  const log = createLogger("harness:engine").extend(runId);
  const reporters = [...(options.reporters ?? []), ...createFileReporters(reportDir)];
  const recorder = new Recorder(clock);
  const startedAt = clock.now();
  const checks: CheckResult[] = [];
  const stepFailures: CheckResult[] = [];
  let status: RunStatus = "passed";
  let error: RunResult["error"];
  let profile: ResolvedProfile | undefined;
  let plan: PlannedStep[] = [];
  let runtime: StartedLocalRuntime | StartedContainerRuntime | undefined;
  let registry: RegistryReader | undefined;
  let fleet: StartedClientFleet | undefined;
  let fleetSummary: FleetSummary | undefined;
  let faults: FaultRunner | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  const background: Promise<unknown>[] = [];
  /** Harness errors of background loads, thrown once the background has been awaited. */
  const backgroundErrors: unknown[] = [];
  const probeSockets = new Set<ProbeSocket>();
  const faultAbort = new AbortController();
  const sut = options.sut ?? resolveSutDefinition(REFERENCE_SUT);
  const config: Record<string, unknown> = {
    runtime: options.runtime ?? "local",
    profile: profileName,
    registry: options.registry ?? "redis",
    redis: scenario.redis ?? "standalone",
    sut: { ...sut },
    gateway_env: options.gatewayEnv ?? {},
    overrides: { instances: options.instances, clients: options.clients, duration_s: options.durationS },
    baseline: options.baseline,
  };
  const topology: Record<string, unknown> = {};

  const emit = async (hook: Exclude<keyof Reporter, "name">, ...args: unknown[]) => {
    for (const reporter of reporters) {
      const fn = reporter[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) continue;
      try {
        await fn.apply(reporter, args);
      } catch (caught) {
        log("reporter failed", { reporter: reporter.name, hook, error: String(caught) });
      }
    }
  };
  const aborted = () => options.signal?.aborted === true;
  const checkAbort = () => {
    if (aborted()) throw options.signal!.reason instanceof Error ? options.signal!.reason : new HarnessError("HARNESS_ERR_ABORTED", "run aborted");
  };

  try {
    profile = resolveRunProfile(options);
    plan = planSteps(scenario.steps(profile), profile, seed);
    Object.assign(config, { resolved_profile: profile, seed });
    // Refused before anything starts: a fault or Redis mode the runtime cannot do (local: no network partition).
    const runtimeKind = options.runtime ?? "local";
    assertRunSupported(runtimeKind, runtimeKind === "containers" ? CONTAINER_RUNTIME_CAPABILITIES : LOCAL_RUNTIME_CAPABILITIES, scenario.redis ?? "standalone", plan.flatMap((step) => (step.kind === "fault" ? [step.fault] : [])));
    await emit("onRunStart", { runId, scenario: scenario.name, seed, profile: profileName, outDir: reportDir });
    const swept = sweepOrphans();
    recorder.record({ t: clock.now(), source: "engine", type: "run_start", run_id: runId, seed, swept_orphans: swept.map((p) => p.pid) });
    recorder.startPhase("setup");
    await emit("onPhase", recorder.phases.at(-1)!);
    const t0 = clock.now();
    const runtimeOptions = {
      runId,
      instances: profile.instances,
      redis: scenario.redis ?? "standalone",
      sut,
      registry: options.registry ?? "redis",
      connectionTtlMs: profile.connectionTtlMs,
      heartbeatIntervalMs: profile.heartbeatIntervalMs,
      drainTimeoutMs: profile.drainTimeoutMs,
      env: options.gatewayEnv ?? {},
      onEvent: (event: RuntimeEvent) => recorder.record({ ...event, source: event.type === "process_state" ? "process" : "runtime" }),
    };
    runtime = options.runtime === "containers" ? ((await new DeferredContainerRuntime(runtimeOptions).start()) as StartedContainerRuntime) : await new LocalRuntime(runtimeOptions).start();
    checkAbort();
    Object.assign(topology, {
      start_ms: clock.now() - t0,
      redis: runtime.redis,
      toxiproxy: runtime.toxiproxy.apiUrl,
      instances: runtime.instances.map((i) => ({ id: i.id, port: i.port, http: i.httpUrl, proxies: i.proxies })),
      ...("toxiproxyImage" in runtime ? { runtime: "containers", toxiproxy_image: runtime.toxiproxyImage } : {}),
    });
    const rt = runtime;
    registry = new RegistryReader({ nodes: rt.redis.nodes, cluster: rt.redis.mode === "cluster", keyPrefix: sut.keyPrefix });
    faults = new FaultRunner({
      target: rt,
      clock,
      onEvent: (event: FaultEvent) => recorder.record({ ...event, source: "fault" }),
      connectionFlood: async ({ targets, connections, ratePerSecond, durationMs, signal }) => {
        // The flood driver bounds connects in flight rather than per second: the rate caps the concurrency.
        const floods = await Promise.all(
          targets.map(
            (target) =>
              startConnectionFlood(
                { target, count: Math.ceil(connections / targets.length), concurrency: Math.max(1, Math.min(200, ratePerSecond)), authSecret: rt.authSecret, timeoutMs: durationMs },
                signal,
              ).result,
          ),
        );
        return { floods };
      },
    });
    const faultRunner = faults;
    recorder.startSampling(
      createSampler({
        fleet: () => fleet?.snapshot(),
        registry,
        metricsUrls: () => Object.fromEntries(rt.instances.map((i) => [i.id, sut.metricsPath === null ? null : `${i.httpUrl}${sut.metricsPath}`])),
        activeFaults: () => Object.values(faultRunner.active()),
      }),
    );
    progressTimer = setInterval(() => {
      const snapshot = fleet?.snapshot();
      void emit("onProgress", {
        elapsedMs: clock.now() - startedAt,
        phase: recorder.phase,
        connectionsByInstance: snapshot?.byInstance ?? {},
        connected: snapshot?.connected ?? 0,
        activeFaults: Object.values(faultRunner.active()),
      });
    }, PROGRESS_INTERVAL_MS);
    progressTimer.unref();

    const probeContext = (index: number): ProbeContext => ({
      events: recorder.events,
      record: (event) => recorder.record({ ...event, t: event.t ?? clock.now(), source: "probe" }),
      liveInstances: () => rt.instances.filter((i) => rt.liveInstanceIds().includes(i.id)).map((i) => ({ id: i.id, httpUrl: i.httpUrl, wsUrl: i.wsUrl })),
      authSecret: rt.authSecret,
      wsPath: sut.wsPath,
      runId,
      random: new SeededRandom(deriveSeed(seed, `probe-${index}`)),
      registry: registry!,
      keep: (socket) => void probeSockets.add(socket),
      ...(options.signal ? { signal: options.signal } : {}),
    });

    /** A step the SUT failed: a failed `step: …` result and a `step_failed` event (its remaining steps are skipped by the caller). */
    const failStep = (index: number, description: string, failure: { expected: string; actual: Record<string, unknown>; code?: string }) => {
      stepFailures.push({ name: `step: ${description}`, pass: false, expected: failure.expected, actual: failure.actual, evidence: { index } });
      recorder.record({ t: clock.now(), source: "engine", type: "step_failed", index, description, ...(failure.code ? { code: failure.code } : {}) });
    };
    /** Runs an `http_load` step; its failure is judged by the probe (see `judgeHttpLoad`). */
    const httpLoad = (index: number, step: Extract<PlannedStep, { kind: "http_load" }>, signal: AbortSignal): Promise<HttpLoadFailure | undefined> =>
      runHttpLoadProbe(probeContext(index), { endpoint: step.endpoint, durationMs: step.durationMs, connections: step.connections, ratePerSecond: step.ratePerSecond }, signal);
    /** Waits for every background fault and load; a background load's harness error then fails the run. */
    const awaitBackground = async () => {
      await Promise.allSettled([...background]);
      if (backgroundErrors.length > 0) throw backgroundErrors[0];
    };

    for (const [index, step] of plan.entries()) {
      checkAbort();
      const stepStart = clock.now();
      const description = describeStep(step);
      let stepFailed = false;
      recorder.record({ t: stepStart, source: "engine", type: "step_start", index, description });
      try {
        switch (step.kind) {
          case "phase":
            await emit("onPhase", recorder.startPhase(step.name));
            break;
          case "connect_fleet":
            fleet = await new ClientFleet({
              targets: rt.targets(),
              clients: profile.clients,
              authSecret: rt.authSecret,
              seed: deriveSeed(seed, "fleet"),
              rampPerSecond: profile.rampPerSecond,
              messageRatePerSecond: 0,
              onEvent: recorder.recordFleet,
              runId,
            }).start();
            await fleet.waitForConnected(profile.clients, step.timeoutMs);
            break;
          case "messages":
            await requireFleet(fleet).setMessageRate(step.perSecond);
            break;
          case "hold":
            await clock.sleep(step.ms, options.signal);
            break;
          case "fault":
            if (step.background) {
              background.push(faultRunner.run(step.fault, faultAbort.signal));
            } else {
              await faultRunner.run(step.fault, options.signal);
            }
            break;
          case "await_connected":
            await requireFleet(fleet).waitForConnected(profile.clients, step.timeoutMs);
            break;
          case "settle":
            await settle(requireFleet(fleet), recorder, profile.clients, step.timeoutMs, options.signal);
            break;
          case "write_session_state":
            requireFleet(fleet);
            await writeSessionState(probeContext(index), { fieldsPerSession: step.fieldsPerSession });
            break;
          case "probe_lookups":
            requireFleet(fleet);
            await flushEvents(requireFleet(fleet), recorder);
            await probeLookups(probeContext(index), { maxConnections: step.maxConnections });
            break;
          case "probe_tenant_isolation":
            requireFleet(fleet);
            await probeTenantIsolation(probeContext(index), { victims: step.victims });
            break;
          case "probe_degraded_mode":
            requireFleet(fleet);
            await probeDegradedMode(probeContext(index), { rounds: step.rounds, reconcileTimeoutMs: step.reconcileTimeoutMs });
            break;
          case "strand_connections":
            await strandConnections(probeContext(index), {
              count: step.count,
              how: step.how,
              kill: (id) => faultRunner.run({ kind: "kill_instance", target: id, targets: [id] }, options.signal),
            });
            break;
          case "http_load": {
            await flushEvents(requireFleet(fleet), recorder);
            if (step.background) {
              background.push(
                httpLoad(index, step, faultAbort.signal).then(
                  (failure) => {
                    if (failure && !aborted()) failStep(index, description, failure);
                  },
                  (caught: unknown) => {
                    const code = (caught as { code?: string }).code;
                    const message = (caught as Error)?.message ?? String(caught);
                    recorder.record({ t: clock.now(), source: "engine", type: "http_load_rejected", index, description, ...(code ? { code } : {}), message });
                    if (aborted()) return;
                    if (code && SUT_FAILURE_CODES.has(code)) failStep(index, description, { expected: "step completes", actual: { code, message }, code });
                    else backgroundErrors.push(caught);
                  },
                ),
              );
              break;
            }
            const failure = await httpLoad(index, step, options.signal ?? faultAbort.signal);
            if (failure && !aborted()) {
              failStep(index, description, failure);
              stepFailed = true;
            }
            break;
          }
          case "await_background":
            await awaitBackground();
            break;
        }
      } catch (caught) {
        const code = (caught as { code?: string }).code;
        if (code && SUT_FAILURE_CODES.has(code) && !aborted()) {
          // The SUT did not do what the step needed: a failed result, and the remaining steps are skipped.
          failStep(index, description, { expected: "step completes", actual: { code, message: (caught as Error).message }, code });
          break;
        }
        throw caught;
      }
      // A failed HTTP load, like a thrown SUT failure above: the remaining steps are skipped.
      if (stepFailed) break;
      recorder.record({ t: clock.now(), source: "engine", type: "step_end", index, description, duration_ms: clock.now() - stepStart });
      await emit("onStepEnd", { index, description, durationMs: clock.now() - stepStart });
    }
    checkAbort();
    await awaitBackground();

    recorder.startPhase("checks");
    await emit("onPhase", recorder.phases.at(-1)!);
    if (fleet) await flushEvents(fleet, recorder);
    const context: CheckContext = {
      events: recorder.events,
      samples: recorder.samples,
      registry,
      liveInstances: () => rt.liveInstanceIds(),
      instanceUrls: Object.fromEntries(rt.instances.map((i) => [i.id, i.httpUrl])),
      authSecret: rt.authSecret,
      connectionTtlMs: profile.connectionTtlMs,
      heartbeatIntervalMs: profile.heartbeatIntervalMs,
      thresholds: profile.thresholds,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    for (const name of scenario.checks) {
      checkAbort();
      const check = CHECKS[name];
      let result: CheckResult;
      if (!check) {
        result = { name, pass: false, expected: "an implemented check", actual: "not implemented in this version", evidence: {} };
      } else {
        try {
          result = await check(context);
        } catch (caught) {
          if ((caught as { code?: string }).code === "HARNESS_ERR_ABORTED") throw caught;
          result = { name, pass: false, expected: "the check runs", actual: { error: (caught as Error).message }, evidence: {} };
        }
      }
      checks.push(result);
      recorder.record({ t: clock.now(), source: "engine", type: "check_result", name: result.name, pass: result.pass });
      await emit("onCheckResult", result);
    }
    checks.push(...stepFailures);
    status = checks.every((c) => c.pass) ? "passed" : "failed";
  } catch (caught) {
    const code = (caught as { code?: string }).code;
    status = aborted() || code === "HARNESS_ERR_ABORTED" ? "aborted" : "error";
    error = { ...(code ? { code } : {}), message: (caught as Error)?.message ?? String(caught) };
    log("run failed", { error: error.message });
    checks.push(...stepFailures);
  } finally {
    clearInterval(progressTimer);
    recorder.startPhase("teardown");
    faultAbort.abort();
    const f = fleet;
    const r = runtime;
    const reg = registry;
    try {
      await teardownInOrder([
        [
          ...(f ? [{ name: "client fleet", stop: async () => (fleetSummary = await f.stop()) }] : []),
          { name: "probe sockets", stop: async () => probeSockets.forEach((socket) => socket.destroy()) },
        ],
        [{ name: "background faults", stop: () => Promise.allSettled(background) }, { name: "recorder sampling", stop: () => recorder.stopSampling() }],
        reg ? [{ name: "registry reader", stop: () => reg.close() }] : [],
        r ? [{ name: "topology", stop: () => r.stop() }] : [],
      ]);
    } catch (caught) {
      if (status === "passed" || status === "failed") {
        status = "error";
        error = { code: "HARNESS_ERR_TEARDOWN_TIMEOUT", message: (caught as Error).message };
      }
    }
    recorder.endPhase();
  }

  const endedAt = clock.now();
  const fleetTotals = fleetSummary ? summarise(fleetSummary) : undefined;
  const result: RunResult = {
    schema_version: RUN_RESULT_SCHEMA_VERSION,
    run_id: runId,
    scenario: scenario.name,
    description: scenario.description,
    status,
    exit_code: status === "passed" ? 0 : status === "failed" ? 1 : 2,
    started_at: new Date(startedAt).toISOString(),
    ended_at: new Date(endedAt).toISOString(),
    duration_ms: endedAt - startedAt,
    seed,
    profile: profileName,
    config,
    topology,
    plan,
    phases: recorder.phases,
    events: recorder.events,
    samples: recorder.samples,
    checks,
    ...(fleetTotals ? { fleet_summary: fleetTotals } : {}),
    ...(options.baseline ? { baseline: await compareBaseline(options.baseline, { checks, duration_ms: endedAt - startedAt, ...(fleetTotals ? { fleet_summary: fleetTotals } : {}) }) } : {}),
    ...(error ? { error } : {}),
  };
  const files: string[] = [];
  for (const reporter of reporters) {
    try {
      const written = await reporter.onRunEnd?.(result, status);
      if (Array.isArray(written)) files.push(...written);
    } catch (caught) {
      log("reporter failed", { reporter: reporter.name, error: String(caught) });
      if (reporter.name === "json") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot write ${join(reportDir, "run.json")}: ${(caught as Error).message}`, { cause: caught });
    }
  }
  return { result, reportDir, files };
}

function requireFleet(fleet: StartedClientFleet | undefined): StartedClientFleet {
  if (!fleet) throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", "this step needs the fleet: put Step.connectFleet() before it");
  return fleet;
}

function summarise(summary: FleetSummary): Record<string, unknown> {
  const { histograms: _histograms, ...rest } = summary;
  return rest as unknown as Record<string, unknown>;
}

/** Pauses messages, then waits for every sent message's outcome and for every client to be connected. */
async function settle(fleet: StartedClientFleet, recorder: Recorder, clients: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Only once every worker has stopped sending is "every sent message has an outcome" final.
  await fleet.setMessageRate(0);
  await retryUntil(
    async () => fleet.snapshot(),
    (s) => s.messages.sent === s.messages.acked + s.messages.errors,
    (last) => new HarnessError("HARNESS_ERR_FLEET_TIMEOUT", `messages did not settle within ${timeoutMs}ms (sent ${last.value?.messages.sent}, acked ${last.value?.messages.acked}, errors ${last.value?.messages.errors})`),
    { timeoutMs, intervalMs: 100, ...(signal ? { signal } : {}) },
  );
  await fleet.waitForConnected(clients, Math.max(1, deadline - Date.now()));
  recorder.record({ t: Date.now(), source: "engine", type: "settled" });
}

/** Waits until the recorder has every message event the fleet has counted (events arrive in batches). */
async function flushEvents(fleet: StartedClientFleet, recorder: Recorder): Promise<void> {
  await retryUntil(
    async () => ({ fleet: fleet.snapshot().messages, recorded: { ...recorder.messageCounts } }),
    ({ fleet: f, recorded: r }) => r.sent >= f.sent && r.acked >= f.acked && r.received >= f.received && r.errors >= f.errors,
    () => new Error("fleet events not flushed"),
    { timeoutMs: FLUSH_TIMEOUT_MS, intervalMs: 50 },
  ).catch(() => undefined);
}

async function compareBaseline(path: string, current: ComparedRun): Promise<Record<string, unknown>> {
  try {
    const baseline = JSON.parse(await readFile(path, "utf8")) as Partial<RunResult>;
    return { path, ...compareWithBaseline(current, baseline) };
  } catch (caught) {
    return { path, error: (caught as Error).message };
  }
}
