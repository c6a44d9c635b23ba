/**
 * The explicit context of one scenario run, and the shape of a step handler. Every handler gets the same
 * {@link RunContext}: the started runtime (through the `StartedRuntime` interface only), the recorder, the registry
 * reader, the fleet, the fault runner, background tasks, the probe context factory, abort signals, clock and seed.
 */
import type { Clock } from "../common/clock.js";
import { HarnessError } from "../errors.js";
import type { FaultRunner } from "../faults/fault-runner.js";
import type { StartedClientFleet } from "../fleet/client-fleet.js";
import type { ProbeContext } from "../probes/probe-context.js";
import type { ProbeSocket } from "../probes/probe-io.js";
import type { Recorder } from "../recorder/recorder.js";
import type { RegistryReader } from "../recorder/registry-reader.js";
import type { StateAuditor } from "../recorder/state-auditor.js";
import type { StartedRuntime } from "../runtime/runtime.js";
import type { ResolvedSutDefinition } from "../runtime/sut.js";
import type { BackgroundTasks } from "./background-tasks.js";
import type { ResolvedProfile, ScenarioDefinition } from "./define-scenario.js";
import type { ReporterHub } from "./reporter-hub.js";
import type { PlannedStep, StepKind } from "./step.js";

/** Codes of failures that belong to the system under test (exit 1), not to the harness (exit 2). */
export const SUT_FAILURE_CODES: ReadonlySet<string> = new Set([
  "HARNESS_ERR_FLEET_TIMEOUT",
  "HARNESS_ERR_INSTANCE_START_TIMEOUT",
  "HARNESS_ERR_PROCESS_EXITED",
  "HARNESS_ERR_INSTANCE_STOP_FAILED",
  "HARNESS_ERR_PROBE_REFUSED",
]);

/** Throws the abort reason (or `HARNESS_ERR_ABORTED`) once `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new HarnessError("HARNESS_ERR_ABORTED", "run aborted");
}

/** Why a step failed: a failed `step: …` result (the remaining steps are skipped). */
export interface StepFailure {
  expected: string;
  actual: Record<string, unknown>;
  code?: string;
}

/** Where a step sits in the plan. */
export interface StepPosition {
  index: number;
  /** {@link describeStep} of the step. */
  description: string;
}

/** What a step handler reports: `failed` when it recorded a failure itself; the remaining steps are then skipped. */
export type StepOutcome = "completed" | "failed";

/**
 * Runs one planned step of kind `K`. Throwing an error whose code is in {@link SUT_FAILURE_CODES} fails the step
 * (a result, not a harness error); any other error ends the run with status `error`.
 */
export type StepHandler<K extends StepKind = StepKind> = (step: Extract<PlannedStep, { kind: K }>, run: RunContext, at: StepPosition) => Promise<StepOutcome | void>;

/** One handler per step kind: a new kind is a new file in `steps/` and one entry in `STEP_HANDLERS`. */
export type StepHandlers = { readonly [K in StepKind]: StepHandler<K> };

/** What teardown stops: everything a run may have started, each set once started. */
export interface RunResources {
  runtime?: StartedRuntime;
  registry?: RegistryReader;
  fleet?: StartedClientFleet;
  progressTimer?: NodeJS.Timeout;
  /** Stops watching the harness's event loop for stalls (harness/recorder/loop-stalls.ts). */
  stopStallWatch?: () => void;
  readonly background: BackgroundTasks;
  /** Probe sockets kept beyond their step (stranded ones); destroyed at teardown. */
  readonly probeSockets: Set<ProbeSocket>;
  /** Aborted at teardown: ends background faults and loads. */
  readonly backgroundAbort: AbortController;
}

/** What is known of a run before its topology starts. */
export interface RunSettings {
  readonly runId: string;
  readonly seed: number;
  readonly scenario: ScenarioDefinition;
  readonly profile: ResolvedProfile;
  readonly sut: ResolvedSutDefinition;
  /** The environment the run gives every instance beyond the harness's variables (a SUT definition's `env` wins over it). @default {} */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  readonly clock: Clock;
  /** The run's abort (Ctrl-C); the engine tears down and reports status `aborted`. */
  readonly signal: AbortSignal | undefined;
  readonly recorder: Recorder;
  readonly reporters: ReporterHub;
  /** Epoch ms of the run's start (by {@link clock}). */
  readonly startedAt: number;
}

/** A running scenario, as every step handler sees it. */
export interface RunContext extends RunSettings {
  readonly runtime: StartedRuntime;
  readonly registry: RegistryReader;
  /** The continuous audit of Redis, one pass per sample (`state_audit` events). */
  readonly stateAuditor?: StateAuditor;
  readonly faults: FaultRunner;
  readonly background: BackgroundTasks;
  /** Aborted at teardown; background faults and loads run under it. */
  readonly backgroundSignal: AbortSignal;
  /** The client fleet once `Step.connectFleet()` has started it. */
  fleet: StartedClientFleet | undefined;
  /** The fleet; rejects a scenario that uses it before `Step.connectFleet()` with `HARNESS_ERR_INVALID_SCENARIO`. */
  requireFleet(): StartedClientFleet;
  /** The context of a probe or action run by step `index` (its random source is seeded by the index). */
  probeContext(index: number): ProbeContext;
  /** A step the SUT failed: a failed `step: …` result and a `step_failed` event. */
  failStep(index: number, description: string, failure: StepFailure): void;
  /** Whether the run has been aborted. */
  aborted(): boolean;
}
