import { CHECKS } from "../checks/checks.js";
import type { CheckContext } from "../checks/check.js";
import type { CheckResult } from "../report/run-result.js";
import { flushEvents } from "./flush-events.js";
import { throwIfAborted, type RunContext } from "./run-context.js";

/**
 * The checks phase: judges the scenario's invariants on the recorded events, samples and Redis, in the scenario's
 * order, pushing each result to `checks` as it comes (so an abort keeps those already judged). A check that throws
 * is a failed result; an abort propagates.
 */
export async function runChecks(run: RunContext, checks: CheckResult[]): Promise<void> {
  const { recorder, clock, runtime: rt, profile, signal } = run;
  recorder.startPhase("checks");
  await run.reporters.emit("onPhase", recorder.phases.at(-1)!);
  if (run.fleet) await flushEvents(run.fleet, recorder);
  // The last audit pass read is judged now, with every event it needs in.
  await run.stateAuditor?.flush();
  const context: CheckContext = {
    events: recorder.events,
    readEvents: (types) => recorder.readEvents(types),
    samples: recorder.samples,
    registry: run.registry,
    liveInstances: () => rt.liveInstanceIds(),
    instanceUrls: Object.fromEntries(rt.instances.map((i) => [i.id, i.httpUrl])),
    metricsPath: run.sut.metricsPath,
    wsPath: run.sut.wsPath,
    authSecret: rt.authSecret,
    connectionTtlMs: profile.connectionTtlMs,
    heartbeatIntervalMs: profile.heartbeatIntervalMs,
    thresholds: profile.thresholds,
    ...(signal ? { signal } : {}),
  };
  for (const name of run.scenario.checks) {
    throwIfAborted(signal);
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
    await run.reporters.emit("onCheckResult", result);
  }
}
