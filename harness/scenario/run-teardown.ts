import type { FleetSummary } from "../fleet/client-fleet.js";
import type { Recorder } from "../recorder/recorder.js";
import type { HarnessErrorCode } from "../errors.js";
import { teardownInOrder } from "../runtime/teardown.js";
import type { RunResources } from "./run-context.js";

/** What teardown left: the fleet's summary when the fleet stopped, and the teardown error, if any. */
export interface TeardownOutcome {
  fleetSummary?: FleetSummary;
  error?: TeardownError;
}

/** Why teardown failed, as run.json's `error` says it. */
export interface TeardownError {
  code: HarnessErrorCode;
  /** The watchdog's message, or every stop that failed with its reason. */
  message: string;
}

/** The first code found in `error`, its causes and the errors it aggregates (teardowns nest: the topology's own). */
function codeOf(error: unknown): HarnessErrorCode | undefined {
  const e = error as { code?: HarnessErrorCode; cause?: unknown; errors?: unknown[] } | undefined;
  if (e === undefined || e === null) return undefined;
  if (typeof e.code === "string") return e.code;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const code = codeOf(inner);
    if (code !== undefined) return code;
  }
  return undefined;
}

/**
 * The watchdog's error as it is; stops that failed (teardownInOrder names each with its reason) with the code of the
 * first that has one (a proxy server that died during the run: `HARNESS_ERR_PROCESS_EXITED`), else
 * `HARNESS_ERR_TEARDOWN_TIMEOUT`.
 */
function teardownError(caught: unknown): TeardownError {
  return { code: codeOf(caught) ?? "HARNESS_ERR_TEARDOWN_TIMEOUT", message: (caught as Error)?.message ?? String(caught) };
}

/**
 * The teardown phase, in reverse of startup order: fleet and probe sockets → background faults and loads (already
 * aborted) and sampling → registry reader → topology. Stops whatever `resources` holds, whatever failed before;
 * never throws: a failure is returned (the watchdog's `HARNESS_ERR_TEARDOWN_TIMEOUT`, or every stop that failed).
 */
export async function teardownRun(resources: RunResources, recorder: Recorder): Promise<TeardownOutcome> {
  clearInterval(resources.progressTimer);
  resources.stopStallWatch?.();
  recorder.startPhase("teardown");
  resources.backgroundAbort.abort();
  const { fleet: f, runtime: r, registry: reg } = resources;
  const outcome: TeardownOutcome = {};
  try {
    await teardownInOrder([
      [
        ...(f ? [{ name: "client fleet", stop: async () => (outcome.fleetSummary = await f.stop()) }] : []),
        { name: "probe sockets", stop: async () => resources.probeSockets.forEach((socket) => socket.destroy()) },
      ],
      [{ name: "background faults", stop: () => resources.background.settle() }, { name: "recorder sampling", stop: () => recorder.stopSampling() }],
      reg ? [{ name: "registry reader", stop: () => reg.close() }] : [],
      r ? [{ name: "topology", stop: () => r.stop() }] : [],
    ]);
  } catch (caught) {
    outcome.error = teardownError(caught);
  }
  recorder.endPhase();
  return outcome;
}
