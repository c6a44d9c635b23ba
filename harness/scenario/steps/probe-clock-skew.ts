import { setTimeout as delay } from "node:timers/promises";
import { probeClockSkew } from "../../checks/clock-skew.js";
import { mintClientToken } from "../../common/jwt.js";
import { eventsOf } from "../../events/run-events.js";
import { HarnessError } from "../../errors.js";
import { liveConnections } from "../../probes/probe-context.js";
import { openProbeSocket, tenantToken, type ProbeSocket } from "../../probes/probe-io.js";
import { flushEvents } from "../flush-events.js";
import type { StepHandler } from "../run-context.js";

/** How long the step waits for a background clock skew to take effect (a drain and a start), ms. */
const APPLIED_TIMEOUT_MS = 60_000;
/** How long it waits for the fleet to be connected again after the skewed instance's restart, ms. */
const RECONNECT_TIMEOUT_MS = 30_000;
/**
 * Probe sessions, each with one connection on every live instance: the fleet may have left the skewed instance
 * (drained by the skew's restart), so these make sure the skewed instance holds live connections too.
 */
const PROBE_SESSIONS = 3;

/**
 * `Step.probeClockSkew()`: once a background `Fault.clockSkew` is applied and every client is connected, looks
 * every live fleet connection up from every instance for `observeMs` ({@link probeClockSkew}). A failed probe
 * fails the run as a `step: probe clock skew` result with the probe's figures. With `endSkew`, heals the skew after.
 */
export const probeClockSkewStep: StepHandler<"probe_clock_skew"> = async (step, run, { index, description }) => {
  const deadline = Date.now() + APPLIED_TIMEOUT_MS;
  const applied = () => {
    const events = run.recorder.events;
    const ended = new Set(eventsOf(events, "fault", "fault_end").map((e) => e.fault_id));
    return eventsOf(events, "fault", "fault_applied").find((e) => e.kind === "clock_skew" && !ended.has(e.fault_id));
  };
  while (!applied()) {
    if (Date.now() > deadline) throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `${description}: no background clock skew took effect within ${APPLIED_TIMEOUT_MS} ms; put Step.fault(Fault.clockSkew(...), { background: true }) before it`);
    await delay(50, undefined, run.signal ? { signal: run.signal } : {});
  }
  const skew = applied()!;
  const fleet = run.requireFleet();
  await fleet.waitForConnected(run.profile.clients, RECONNECT_TIMEOUT_MS);
  await flushEvents(fleet, run.recorder);
  const context = run.probeContext(index);
  const sessions: Record<string, { token: string; ids: string[] }> = {};
  for (const connection of liveConnections(context.events)) {
    const entry = (sessions[connection.session_id] ??= { token: mintClientToken(context.authSecret, { tenantId: connection.tenant_id }), ids: [] });
    entry.ids.push(connection.websocket_id);
  }
  const probeTenant = `${context.runId}-skew`;
  const probeToken = tenantToken(context.authSecret, probeTenant);
  const sockets: ProbeSocket[] = [];
  const probeIds = new Set<string>();
  let result: Awaited<ReturnType<typeof probeClockSkew>>;
  try {
    for (let s = 0; s < PROBE_SESSIONS; s++) {
      const sessionId = `skew-probe-${index}-${s}`;
      const ids: string[] = [];
      for (const instance of context.liveInstances()) {
        const opened = await openProbeSocket({ baseUrl: instance.wsUrl, wsPath: context.wsPath, token: probeToken, sessionId });
        if (!opened.ok) throw new HarnessError("HARNESS_ERR_PROBE_FAILED", `${description}: a probe connection to ${instance.id} was refused (${JSON.stringify(opened)})`);
        sockets.push(opened.socket);
        ids.push(opened.welcome.websocket_id);
        probeIds.add(opened.welcome.websocket_id);
      }
      sessions[sessionId] = { token: probeToken, ids };
    }
    result = await probeClockSkew({
    instances: context.liveInstances().map((i) => ({ id: i.id, httpUrl: i.httpUrl })),
    sessions,
    observeMs: step.observeMs,
    skew: skew.description,
    // A fleet client that reconnected during the observation was missed for its own move, not for the skew.
    changedDuring: async () => {
      await flushEvents(fleet, run.recorder);
      const now = new Set(liveConnections(run.recorder.events).map((c) => c.websocket_id));
      return new Set(Object.values(sessions).flatMap((s) => s.ids).filter((id) => !now.has(id) && !probeIds.has(id)));
    },
    ...(run.signal ? { signal: run.signal } : {}),
    });
  } finally {
    for (const socket of sockets) socket.ws.close(1000);
    // Done with the skew: heal it now rather than hold it for the rest of its longest duration.
    if (step.endSkew) run.background.endFaults("clock_skew");
  }
  if (!result.pass) run.failStep(index, description, { expected: JSON.stringify(result.expected), actual: { ...(result.actual as object), ...(result.evidence as object) } });
};
