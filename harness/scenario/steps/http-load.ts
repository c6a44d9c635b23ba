import { runHttpLoad, type HttpLoadFailure } from "../../actions/run-http-load.js";
import { flushEvents } from "../flush-events.js";
import { SUT_FAILURE_CODES, type RunContext, type StepHandler } from "../run-context.js";
import type { PlannedStep } from "../step.js";

/** Runs the load of an `http_load` step; its failure is judged by the action (see `judgeHttpLoad`). */
function httpLoad(run: RunContext, index: number, step: Extract<PlannedStep, { kind: "http_load" }>, signal: AbortSignal): Promise<HttpLoadFailure | undefined> {
  return runHttpLoad(run.probeContext(index), { endpoint: step.endpoint, durationMs: step.durationMs, connections: step.connections, ratePerSecond: step.ratePerSecond }, signal);
}

/**
 * `Step.httpLoad()`: an HTTP flood of the lookup or route API. In the foreground a failed load fails the step (the
 * remaining steps are skipped); in the background its failure is recorded when it ends, and a harness error of it
 * fails the run once the background is awaited.
 */
export const httpLoadStep: StepHandler<"http_load"> = async (step, run, { index, description }) => {
  const { recorder, clock } = run;
  await flushEvents(run.requireFleet(), recorder);
  if (step.background) {
    run.background.add(
      httpLoad(run, index, step, run.backgroundSignal).then(
        (failure) => {
          if (failure && !run.aborted()) run.failStep(index, description, failure);
        },
        (caught: unknown) => {
          const code = (caught as { code?: string }).code;
          const message = (caught as Error)?.message ?? String(caught);
          recorder.record({ t: clock.now(), source: "engine", type: "http_load_rejected", index, description, ...(code ? { code } : {}), message });
          if (run.aborted()) return;
          if (code && SUT_FAILURE_CODES.has(code)) run.failStep(index, description, { expected: "step completes", actual: { code, message }, code });
          else run.background.fail(caught);
        },
      ),
    );
    return "completed";
  }
  const failure = await httpLoad(run, index, step, run.signal ?? run.backgroundSignal);
  if (failure && !run.aborted()) {
    run.failStep(index, description, failure);
    return "failed";
  }
  return "completed";
};
