import { describeStep, type PlannedStep } from "./step.js";
import { runStep } from "./steps/step-handlers.js";
import { SUT_FAILURE_CODES, throwIfAborted, type RunContext } from "./run-context.js";

/**
 * Runs the planned steps in order, each between a `step_start` and a `step_end` event. A step the SUT failed (a
 * thrown SUT failure, or a handler's `failed`) is recorded as a failed `step: …` result and skips the remaining
 * steps; any other error (harness failure, abort) propagates.
 */
export async function runSteps(run: RunContext, plan: readonly PlannedStep[]): Promise<void> {
  const { recorder, clock } = run;
  for (const [index, step] of plan.entries()) {
    throwIfAborted(run.signal);
    const stepStart = clock.now();
    const description = describeStep(step);
    recorder.record({ t: stepStart, source: "engine", type: "step_start", index, description });
    let outcome;
    try {
      outcome = await runStep(step, run, { index, description });
    } catch (caught) {
      const code = (caught as { code?: string }).code;
      if (code && SUT_FAILURE_CODES.has(code) && !run.aborted()) {
        // The SUT did not do what the step needed: a failed result, and the remaining steps are skipped.
        run.failStep(index, description, { expected: "step completes", actual: { code, message: (caught as Error).message }, code });
        return;
      }
      throw caught;
    }
    // A failed HTTP load, like a thrown SUT failure above: the remaining steps are skipped.
    if (outcome === "failed") return;
    recorder.record({ t: clock.now(), source: "engine", type: "step_end", index, description, duration_ms: clock.now() - stepStart });
    await run.reporters.emit("onStepEnd", { index, description, durationMs: clock.now() - stepStart });
  }
}
