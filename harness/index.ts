/** The harness's public API: explicit named exports only. */
export { HarnessError, type HarnessErrorCode } from "./errors.js";
export { type Clock, SYSTEM_CLOCK } from "./common/clock.js";
export { createKeySchema, DEFAULT_KEY_PREFIX, SESSION_TTL_MS, type KeyKind, type KeySchema } from "./common/key-schema.js";
export { createLogger, type Logger } from "./common/logger.js";
export { ClientFleet, type ClientFleetOptions, type FleetLeaveKind, type FleetSnapshot, type FleetSummary, type StartedClientFleet } from "./fleet/client-fleet.js";
export type { FleetEvent, FleetEventType } from "./fleet/fleet-events.js";
export { RedisCluster, RedisServer, StartedRedisCluster, StartedRedisServer } from "./runtime/redis-server.js";
export { OWNER_PID_ENV, RUN_ID_ENV } from "./runtime/process-tags.js";
export { GatewayProcess, type GatewayProcessOptions, type GatewayProcessState, type ProcessExit } from "./runtime/gateway-process.js";
export {
  DEFAULT_RUNTIME_OPTIONS,
  type InstanceInfo,
  type RedisEndpoint,
  type RedisMode,
  type RegistryKind,
  type Runtime,
  type RuntimeCapabilities,
  type RuntimeEvent,
  type RuntimeKind,
  type RuntimeOptions,
  type StartedRuntime,
} from "./runtime/runtime.js";
export { LocalRuntime, StartedLocalRuntime } from "./runtime/local-runtime.js";
export { assertRuntimeAvailable, createRuntime, isRuntimeAvailable, type RuntimeFactory } from "./runtime/create-runtime.js";
export { findLeftovers, type Leftovers } from "./runtime/leftovers.js";
export { networkNamespacesUnavailable, type InstanceLink, type PacketImpairment, type TcpCounters } from "./runtime/network-namespaces.js";
export { findNetworkLeftovers, sweepNetworkLeftovers } from "./runtime/network-sweep.js";
export { probeHttp, waitForReady, type ProbeResult, type WaitForReadyOptions } from "./runtime/readiness.js";
export { DEFAULT_SUT_OPTIONS, loadSutFile, REFERENCE_SUT, resolveSutDefinition, type ResolvedSutDefinition, type SutDefinition } from "./runtime/sut.js";
export { isProcessAlive, killOwnedProcessesSync, listTaggedProcesses, sweepOrphans, type TaggedProcess } from "./runtime/sweep.js";
export { installShutdownHandlers, teardownInOrder, type ShutdownHandlers, type TeardownItem } from "./runtime/teardown.js";
export { describeFault, Fault, type FaultKind, type InstanceSelector, type PacketForm, type PartitionForm } from "./faults/fault.js";
export { FaultRunner, type ConnectionFloodDriver, type FaultEvent, type FaultRunnerOptions, type FaultTarget, type ResolvedFault } from "./faults/fault-runner.js";
export { ToxiproxyFaults, ToxiproxyProxy, type ToxicSpec } from "./faults/toxiproxy-faults.js";
export { Recorder, SAMPLE_INTERVAL_MS } from "./recorder/recorder.js";
export { RegistryReader, type IndexMember, type RegistryCounts, type RegistryReaderOptions, type RegistryRecord, type RegistryState } from "./recorder/registry-reader.js";
export { type ConnectionFamily, type ConnectionIds, type IndexFamily, type RegistrySnapshot } from "./recorder/registry-reader.js";
export { StateAuditor, type StateAuditorOptions } from "./recorder/state-auditor.js";
export { createSampler, type SampleSources } from "./recorder/sampler.js";
export { parsePrometheusText, scrapeMetrics } from "./recorder/metrics-scraper.js";
export { CHECKS } from "./checks/checks.js";
export type { Check, CheckContext, CheckName, CheckThresholds } from "./checks/check.js";
export { delivery } from "./checks/delivery.js";
export { noGhosts } from "./checks/no-ghosts.js";
export { restartSurvival } from "./checks/restart-survival.js";
export type { ProgressInfo, Reporter, RunStartInfo } from "./report/reporter.js";
export {
  RUN_RESULT_SCHEMA_VERSION,
  type CheckResult,
  type LatencyPercentiles,
  type PhaseSpan,
  type RunEvent,
  type RunEventSource,
  type RunResult,
  type RunStatus,
  type Sample,
} from "./report/run-result.js";
export { createFileReporters, FILE_REPORTERS } from "./report/reporters.js";
export { HtmlReporter, renderHtml } from "./report/html-reporter.js";
export { JsonReporter } from "./report/json-reporter.js";
export { JunitReporter, renderJunit, type RenderJunitOptions } from "./report/junit-reporter.js";
export { ProgressReporter } from "./report/progress-reporter.js";
export { MarkdownSummaryReporter, renderSummaryMarkdown, renderSummaryText } from "./report/run-summary.js";
export { listRuns, renderRunsIndex, RunsIndexReporter, writeRunsIndex, type RunListing } from "./report/runs-index.js";
export { pruneRuns, type PruneRunsOptions, type PruneRunsResult } from "./report/prune-runs.js";
export {
  defineScenario,
  DEFAULT_BASELINE_TOLERANCE,
  DEFAULT_PROFILE_OPTIONS,
  resolveProfile,
  type BaselineTolerance,
  type MetricThresholds,
  type ProfileName,
  type ResolvedProfile,
  type ScenarioDefinition,
  type ScenarioProfile,
  type ThresholdMetric,
  type ThresholdMetricKey,
  type ThresholdSpec,
} from "./scenario/define-scenario.js";
export { describeStep, Step, type PlannedStep } from "./scenario/step.js";
export type { ConformancePath, ConformancePromise } from "./events/probe-events.js";
export type { DepartureKind } from "./events/probe-events.js";
export { planSteps } from "./scenario/plan.js";
export { planScenario, resolveRunProfile, runScenario, type RunScenarioOptions, type ScenarioRun } from "./scenario/engine.js";
