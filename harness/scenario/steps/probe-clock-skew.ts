import { setTimeout as delay } from "node:timers/promises";
import createDebug from "debug";
import { probeClockSkew } from "../../checks/clock-skew.js";
import { mintClientToken } from "../../common/jwt.js";
import { eventsOf } from "../../events/run-events.js";
import { HarnessError } from "../../errors.js";
import { liveConnections } from "../../probes/probe-context.js";
import { openProbeSocketWhileUnavailable, tenantToken, type ProbeSocket } from "../../probes/probe-io.js";
import { flushEvents } from "../flush-events.js";
import type { StepHandler } from "../run-context.js";

const log = createDebug("harness:probe");

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
 * New probe connections opened for each closed one of a session on an instance. A stall of this process closes
 * every probe connection once; a third one within the observation (two TTLs) leaves nothing to judge anyway. A
 * gateway that keeps closing them would otherwise have the probe open connections for as long as it observes, and
 * leave that instance unobserved: once they are used up the probe fails, saying so.
 */
const MAX_REPLACEMENTS = 3;

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
  /**
   * The probe's own connections that closed during the observation. They live in this process: when it stands
   * still past a heartbeat period (a loaded machine; a 1.2 s stall reproduces it) their gateways take them for
   * half-open and close them, and each one's record goes with it, as it should. A closed connection is no longer
   * live, so its misses are left out like those of a fleet client that moved, and a new probe connection to the same
   * instance in the same session keeps that instance observed for the rest of the window.
   */
  const closedProbes = new Set<string>();
  /**
   * `instance session` of the probe connections that closed once more after {@link MAX_REPLACEMENTS} replacements, or
   * whose replacement could not be opened.
   */
  const unobserved = new Set<string>();
  let observing = true;
  const openProbe = async (instance: { id: string; wsUrl: string }, sessionId: string, replacements = 0): Promise<void> => {
    // A connect refused REGISTRY_UNAVAILABLE (a Redis command past its timeout on a loaded machine: nothing was
    // registered) is asked again: the probe needs the connection, and the refusal says nothing of the skew.
    const { answer: opened } = await openProbeSocketWhileUnavailable({ baseUrl: instance.wsUrl, wsPath: context.wsPath, token: probeToken, sessionId }, run.signal);
    // A live instance that refuses a valid token fails the step (a gateway whose clock runs behind and checks `iat`
    // strictly refuses every fresh token): the system under test's failure, not the harness's.
    if (!opened.ok) throw new HarnessError("HARNESS_ERR_PROBE_REFUSED", `${description}: a probe connection to ${instance.id} was refused (${JSON.stringify(opened)})`);
    // A replacement that opens after the observation is closed at once (the others are closed in `finally`).
    if (!observing) return opened.socket.ws.close(1000);
    const id = opened.welcome.websocket_id;
    sockets.push(opened.socket);
    probeIds.add(id);
    (sessions[sessionId] ??= { token: probeToken, ids: [] }).ids.push(id);
    opened.socket.ws.once("close", (code) => {
      if (!observing) return;
      closedProbes.add(id);
      if (replacements >= MAX_REPLACEMENTS) {
        unobserved.add(`${instance.id} ${sessionId}`);
        return;
      }
      log("%s: probe connection %s on %s closed (%d) during the observation; opening another", description, id, instance.id, code);
      void openProbe(instance, sessionId, replacements + 1).catch((error: unknown) => {
        log("%s: no new probe connection on %s: %O", description, instance.id, error);
        // Without its replacement this instance goes unobserved in this session: that fails the step too.
        if (observing) unobserved.add(`${instance.id} ${sessionId} (no new connection: ${(error as Error).message})`);
      });
    });
  };
  let result: Awaited<ReturnType<typeof probeClockSkew>>;
  try {
    for (let s = 0; s < PROBE_SESSIONS; s++) {
      const sessionId = `skew-probe-${index}-${s}`;
      for (const instance of context.liveInstances()) await openProbe(instance, sessionId);
    }
    result = await probeClockSkew({
    instances: context.liveInstances().map((i) => ({ id: i.id, httpUrl: i.httpUrl })),
    sessions,
    observeMs: step.observeMs,
    skew: skew.description,
    // A fleet client that reconnected during the observation was missed for its own move, not for the skew; a probe
    // connection that closed, for its close.
    changedDuring: async () => {
      await flushEvents(fleet, run.recorder);
      const now = new Set(liveConnections(run.recorder.events).map((c) => c.websocket_id));
      return new Set([...Object.values(sessions).flatMap((s) => s.ids).filter((id) => !now.has(id) && !probeIds.has(id)), ...closedProbes]);
    },
    ...(run.signal ? { signal: run.signal } : {}),
    });
  } finally {
    observing = false;
    for (const socket of sockets) socket.ws.close(1000);
    // Done with the skew: heal it now rather than hold it for the rest of its longest duration.
    if (step.endSkew) run.background.endFaults("clock_skew");
  }
  if (!result.pass || unobserved.size > 0) {
    const actual = { ...(result.actual as object), ...(result.evidence as object), ...(unobserved.size > 0 ? { probe_connections_kept_closing: [...unobserved] } : {}) };
    run.failStep(index, description, { expected: JSON.stringify(result.expected), actual });
  }
};
