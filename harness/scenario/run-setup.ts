/**
 * The setup phase of a run: start the topology, then the registry reader, the fault runner, the sampler and the
 * progress timer, and build the {@link RunContext} every step handler gets.
 */
import { deriveSeed, SeededRandom } from "../common/random.js";
import { HarnessError } from "../errors.js";
import { FaultRunner, type ConnectionFloodDriver } from "../faults/fault-runner.js";
import { runSlowConsumers } from "../load/slow-consumers.js";
import { describeFault } from "../faults/fault.js";
import { startConnectionFlood } from "../load/connection-flood.js";
import type { ProbeContext } from "../probes/probe-context.js";
import { RegistryReader } from "../recorder/registry-reader.js";
import { createSampler } from "../recorder/sampler.js";
import { watchLoopStalls } from "../recorder/loop-stalls.js";
import { StateAuditor } from "../recorder/state-auditor.js";
import type { CheckResult } from "../report/run-result.js";
import { networkNamespacesUnavailable } from "../runtime/network-namespaces.js";
import { containerLinksUnavailable } from "../runtime/containers/container-links.js";
import type { RedisMode, Runtime } from "../runtime/runtime.js";
import { throwIfAborted, type RunContext, type RunResources, type RunSettings, type StepFailure } from "./run-context.js";
import type { PlannedStep } from "./step.js";
import { unsupportedFault } from "./steps/fault.js";

const PROGRESS_INTERVAL_MS = 1_000;

/** The connection flood driver of the fault runner: one bounded flood per target instance. */
function connectionFloodDriver(authSecret: string): ConnectionFloodDriver {
  return async ({ targets, connections, ratePerSecond, durationMs, signal }) => {
    // The flood driver bounds connects in flight rather than per second: the rate caps the concurrency.
    const floods = await Promise.all(
      targets.map(
        (target) =>
          startConnectionFlood(
            { target, count: Math.ceil(connections / targets.length), concurrency: Math.max(1, Math.min(200, ratePerSecond)), authSecret, timeoutMs: durationMs },
            signal,
          ).result,
      ),
    );
    return { floods };
  };
}

/**
 * Refuses, before anything starts, a plan the runtime cannot run: a Redis mode it cannot start, or a fault that needs
 * a capability it lacks. Throws `HARNESS_ERR_UNSUPPORTED`.
 */
export function assertRunnable(runtime: Runtime, redisMode: RedisMode, plan: readonly PlannedStep[]): void {
  const capabilities = runtime.capabilities;
  if (!capabilities.redisModes.includes(redisMode)) {
    throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `the ${runtime.kind} runtime cannot start Redis in ${redisMode} mode (it can: ${capabilities.redisModes.join(", ")})`);
  }
  for (const step of plan) {
    if (step.kind !== "fault") continue;
    const missing = unsupportedFault(step.fault, capabilities);
    if (missing) {
      const hint =
        missing === "networkPartition"
          ? "; a network partition below the proxy needs containers: run it with --runtime containers"
          : missing === "packetFaults"
            ? `; ${(runtime.kind === "containers" ? containerLinksUnavailable() : networkNamespacesUnavailable()) ?? "packet faults need standalone Redis"}`
            : "";
      throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `fault ${describeFault(step.fault)} needs the runtime capability ${missing}, which the ${runtime.kind} runtime${runtime.kind === "local" ? ` with ${redisMode} Redis` : ""} lacks${hint}`);
    }
  }
}

/**
 * Starts `runtime` and everything that observes or acts on it, records each in `resources` as soon as it exists (so
 * teardown stops whatever did start), fills `topology` for run.json, and returns the run's context. Step failures
 * are pushed to `stepFailures`.
 */
export async function startRun(runtime: Runtime, settings: RunSettings, resources: RunResources, topology: Record<string, unknown>, stepFailures: CheckResult[]): Promise<RunContext> {
  const { clock, recorder, sut, seed, runId, signal } = settings;
  const t0 = clock.now();
  const rt = (resources.runtime = await runtime.start());
  throwIfAborted(signal);
  Object.assign(topology, {
    start_ms: clock.now() - t0,
    redis: rt.redis,
    toxiproxy: rt.toxiproxy.apiUrl,
    instances: rt.instances.map((i) => ({ id: i.id, port: i.port, http: i.httpUrl, proxies: i.proxies })),
    ...rt.topologyDetail,
  });
  const registry = (resources.registry = new RegistryReader({
    nodes: rt.redis.nodes,
    cluster: rt.redis.mode === "cluster",
    ...(rt.redis.sentinels ? { sentinels: rt.redis.sentinels, sentinelName: rt.redis.sentinelName } : {}),
    keyPrefix: sut.keyPrefix,
  }));
  const faultRunner = new FaultRunner({
    target: rt,
    clock,
    onEvent: recorder.recordFault,
    livenessTtls: (ids) => registry.livenessTtls(ids),
    connectionFlood: connectionFloodDriver(rt.authSecret),
    slowConsumers: ({ target, ...rest }) => {
      const instance = rt.instance(target);
      const pid = rt.kind === "local" ? instance.pid : undefined;
      return runSlowConsumers({ wsUrl: instance.wsUrl, httpUrl: instance.httpUrl, authSecret: rt.authSecret, ...(pid !== undefined ? { pid } : {}), ...rest }) as unknown as Promise<Record<string, unknown>>;
    },
  });
  const stateAuditor = new StateAuditor({
    events: recorder.events,
    registry,
    record: recorder.recordProbe,
    connectionTtlMs: settings.profile.connectionTtlMs,
    heartbeatIntervalMs: settings.profile.heartbeatIntervalMs,
  });
  recorder.startSampling(
    createSampler({
      audit: () => stateAuditor.tick(),
      fleet: () => resources.fleet?.snapshot(),
      registry,
      metricsUrls: () => Object.fromEntries(rt.instances.map((i) => [i.id, sut.metricsPath === null ? null : `${i.httpUrl}${sut.metricsPath}`])),
      activeFaults: () => Object.values(faultRunner.active()),
    }),
  );
  resources.progressTimer = setInterval(() => {
    const snapshot = resources.fleet?.snapshot();
    void settings.reporters.emit("onProgress", {
      elapsedMs: clock.now() - settings.startedAt,
      phase: recorder.phase,
      connectionsByInstance: snapshot?.byInstance ?? {},
      connected: snapshot?.connected ?? 0,
      activeFaults: Object.values(faultRunner.active()),
    });
  }, PROGRESS_INTERVAL_MS);
  resources.progressTimer.unref();
  // The harness's own loop carries its recorder and probes; the local runtime's proxy server runs in a process of its
  // own, whose stalls hold up the gateways' Redis links and, with client proxies, the fleet's frames.
  const clientPath = rt.kind === "local" && rt.instances.some((i) => (rt.clientProxiesOf?.(i.id).length ?? 0) > 0);
  const stopOwnWatch = watchLoopStalls((from, durationMs) => recorder.recordProbe({ type: "harness_stall", from, duration_ms: durationMs, client_path: false }));
  const stopProxyWatch = rt.onProxyStall?.((from, durationMs) => recorder.recordProbe({ type: "harness_stall", from, duration_ms: durationMs, client_path: clientPath, proxy: true }));
  resources.stopStallWatch = () => {
    stopOwnWatch();
    stopProxyWatch?.();
  };

  // What the instances run with: the run's environment, then the SUT definition's (gateway-process.ts).
  const maxMessageBytes = maxMessageBytesOf({ ...settings.gatewayEnv, ...sut.env });
  const probeContext = (index: number): ProbeContext => ({
    events: recorder.events,
    record: recorder.recordProbe,
    liveInstances: () => rt.instances.filter((i) => rt.liveInstanceIds().includes(i.id)).map((i) => ({ id: i.id, httpUrl: i.httpUrl, wsUrl: i.wsUrl })),
    authSecret: rt.authSecret,
    wsPath: sut.wsPath,
    ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}),
    runId,
    random: new SeededRandom(deriveSeed(seed, `probe-${index}`)),
    registry,
    keep: (socket) => void resources.probeSockets.add(socket),
    ...(signal ? { signal } : {}),
  });
  const failStep = (index: number, description: string, failure: StepFailure) => {
    stepFailures.push({ name: `step: ${description}`, pass: false, expected: failure.expected, actual: failure.actual, evidence: { index } });
    recorder.record({ t: clock.now(), source: "engine", type: "step_failed", index, description, ...(failure.code ? { code: failure.code } : {}) });
  };
  return {
    ...settings,
    runtime: rt,
    registry,
    stateAuditor,
    faults: faultRunner,
    background: resources.background,
    backgroundSignal: resources.backgroundAbort.signal,
    get fleet() {
      return resources.fleet;
    },
    set fleet(fleet) {
      resources.fleet = fleet;
    },
    requireFleet() {
      if (!resources.fleet) throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", "this step needs the fleet: put Step.connectFleet() before it");
      return resources.fleet;
    },
    probeContext,
    failStep,
    aborted: () => signal?.aborted === true,
  };
}

/** `MAX_MESSAGE_BYTES` an instance environment sets (a positive integer), if it sets one. */
function maxMessageBytesOf(env: Readonly<Record<string, string>>): number | undefined {
  const value = Number(env.MAX_MESSAGE_BYTES);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
