/**
 * The table the engine runs steps from: one handler per {@link StepKind}. A new step kind is a `Step` factory in
 * step.ts, a handler file here, and one entry below; the compiler refuses a kind without a handler.
 */
import type { PlannedStep } from "../step.js";
import type { RunContext, StepHandler, StepHandlers, StepOutcome, StepPosition } from "../run-context.js";
import { awaitBackgroundStep } from "./await-background.js";
import { awaitConnectedStep } from "./await-connected.js";
import { connectFleetStep } from "./connect-fleet.js";
import { departClientsStep } from "./depart-clients.js";
import { faultStep } from "./fault.js";
import { holdStep } from "./hold.js";
import { httpLoadStep } from "./http-load.js";
import { messagesStep } from "./messages.js";
import { phaseStep } from "./phase.js";
import { probeConformanceStep } from "./probe-conformance.js";
import { probeConvergenceStep } from "./probe-convergence.js";
import { probeClockSkewStep } from "./probe-clock-skew.js";
import { probeDegradedModeStep } from "./probe-degraded-mode.js";
import { probeLookupsStep } from "./probe-lookups.js";
import { probeTenantIsolationStep } from "./probe-tenant-isolation.js";
import { probeWakeStep } from "./probe-wake.js";
import { recordScheduleStep } from "./record-schedule.js";
import { settleStep } from "./settle.js";
import { strandConnectionsStep } from "./strand-connections.js";
import { writeSessionStateStep } from "./write-session-state.js";

/** The handler of every step kind. */
export const STEP_HANDLERS: StepHandlers = Object.freeze({
  phase: phaseStep,
  connect_fleet: connectFleetStep,
  messages: messagesStep,
  hold: holdStep,
  fault: faultStep,
  await_connected: awaitConnectedStep,
  settle: settleStep,
  write_session_state: writeSessionStateStep,
  probe_lookups: probeLookupsStep,
  probe_tenant_isolation: probeTenantIsolationStep,
  probe_degraded_mode: probeDegradedModeStep,
  probe_conformance: probeConformanceStep,
  probe_convergence: probeConvergenceStep,
  probe_wake: probeWakeStep,
  strand_connections: strandConnectionsStep,
  depart_clients: departClientsStep,
  http_load: httpLoadStep,
  await_background: awaitBackgroundStep,
  probe_clock_skew: probeClockSkewStep,
  record_schedule: recordScheduleStep,
});

/** Runs `step` with the handler of its kind. */
export async function runStep(step: PlannedStep, run: RunContext, at: StepPosition): Promise<StepOutcome> {
  // TypeScript cannot correlate `step.kind` with the handler it indexes; the table's type guarantees they match.
  const handler = STEP_HANDLERS[step.kind] as StepHandler;
  return (await handler(step, run, at)) ?? "completed";
}
