/**
 * An action (it changes the system under test; observations live in harness/probes/): writes session state that
 * `restart-survival` later reads back.
 */
import { randomBytes } from "node:crypto";
import { forEachBounded } from "../common/bounded.js";
import { httpProbe, tenantToken } from "../probes/probe-io.js";
import { liveConnections, type ProbeContext } from "../probes/probe-context.js";

/** Options of {@link writeSessionState}. */
export interface WriteSessionStateOptions {
  /** Fields written per session. @default 2 */
  fieldsPerSession?: number;
}

/**
 * Writes in flight at once. Each write is a Redis command on the instance it reaches, and the action should not be a
 * flood of its own: a 20,000-client run has 5,000 sessions, and all 5,000 writes at once made every instance's Redis
 * commands time out (1,100 answered 503, 3,900 not within 5 s) and every fleet route fail with
 * REGISTRY_UNAVAILABLE for 10 s.
 */
const WRITES_IN_FLIGHT = 16;

/**
 * Writes session state for every fleet session with a live connection (`PUT /v1/sessions/:id/state` with the
 * session tenant's token, on a seeded live instance), {@link WRITES_IN_FLIGHT} at a time, and records each write as
 * `session_state_written` (`session_id`, `tenant_id`, `via`, `status`, `written`). `restart-survival` reads it back
 * after the faults.
 */
export async function writeSessionState(context: ProbeContext, options: WriteSessionStateOptions = {}): Promise<void> {
  const fields = options.fieldsPerSession ?? 2;
  const sessions = new Map<string, string>();
  for (const connection of liveConnections(context.events)) sessions.set(connection.session_id, connection.tenant_id);
  const instances = context.liveInstances();
  // Drawn up front, in session order: the same seed picks the same instances whatever order the writes end in.
  const writes = [...sessions].map(([sessionId, tenantId]) => {
    const written: Record<string, string> = {};
    for (let i = 0; i < fields; i++) written[`probe_f${i}`] = randomBytes(6).toString("hex");
    return { sessionId, tenantId, via: context.random.pick(instances), written };
  });
  await forEachBounded(writes, WRITES_IN_FLIGHT, async ({ sessionId, tenantId, via, written }) => {
    const answer = await httpProbe(`${via.httpUrl}/v1/sessions/${encodeURIComponent(sessionId)}/state`, {
      token: tenantToken(context.authSecret, tenantId),
      method: "PUT",
      body: { set: written },
    });
    context.record({ type: "session_state_written", session_id: sessionId, tenant_id: tenantId, via: via.id, status: answer.status, written, answer: answer.body });
  });
}
