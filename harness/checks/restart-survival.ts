import { forEachBounded } from "../common/bounded.js";
import { httpRequest } from "../common/http-request.js";
import { mintClientToken } from "../common/jwt.js";
import { eventsOf } from "../events/run-events.js";
import type { FaultKind } from "../faults/fault.js";
import type { CheckResult } from "../report/run-result.js";
import { firstOf, type Check, type CheckContext } from "./check.js";
import { buildClientHistories, connectedAt, currentSocket } from "./client-history.js";

const STATE_READ_TIMEOUT_MS = 5_000;
/**
 * Session states read back at once. One after another, the 5,000 sessions of a 20,000-client release run took the
 * check 10 s; the writes go 16 at a time (harness/actions/write-session-state.ts) so as not to
 * flood the instances' Redis, and reads, as cheap, go as many.
 */
const STATE_READS_IN_FLIGHT = 16;
const RESTART_KINDS: ReadonlySet<FaultKind> = new Set(["kill_instance", "stop_instance", "restart_instance", "rolling_restart"]);

/**
 * `restart-survival`: every client connected before the first restart is connected again within
 * `reconnectBoundMs` of each drop, with the same websocket_id and session, registered exactly once in Redis, on a
 * live instance (the one the client is on). When the run wrote session state before the faults
 * (`Step.writeSessionState()`), every written field must read back unchanged through a live instance
 * (`GET /v1/sessions/:id/state`) and directly from Redis.
 */
export const restartSurvival: Check = async (context) => {
  const t0 = Date.now();
  const restarts = eventsOf(context.events, "fault", "fault_start").filter((e) => RESTART_KINDS.has(e.kind));
  const bound = context.thresholds.reconnectBoundMs;
  const result = (pass: boolean, actual: unknown, evidence: unknown): CheckResult => ({
    name: "restart-survival",
    pass,
    expected: { every_client_back_within_ms: bound, same_websocket_id_and_session: true, registered_exactly_once_on_live_instance: true },
    actual,
    evidence,
    duration_ms: Date.now() - t0,
  });
  if (restarts.length === 0) return result(false, { restarts: 0 }, { reason: "the run has no restart fault, so nothing shows that connections survive one" });
  const windowStart = restarts[0]!.t;
  const histories = buildClientHistories(context.events);
  const state = await context.registry.read();
  const live = new Set(context.liveInstances());
  const recordsByWs = new Map<string, typeof state.records>();
  for (const record of state.records) {
    const list = recordsByWs.get(record.websocket_id) ?? [];
    list.push(record);
    recordsByWs.set(record.websocket_id, list);
  }
  const failures: { client: string; reason: string; [k: string]: unknown }[] = [];
  let before = 0;
  let dropped = 0;
  let resumed = 0;
  let maxOutageMs = 0;
  for (const history of histories.values()) {
    const was = connectedAt(history, windowStart);
    if (!was) continue;
    before++;
    const fail = (reason: string, detail: Record<string, unknown> = {}) => failures.push({ client: history.client, reason, websocket_id: was.websocket_id, ...detail });
    const outages = history.outages.filter((o) => (o.to ?? Number.POSITIVE_INFINITY) >= windowStart);
    if (outages.length > 0) dropped++;
    const longest = Math.max(0, ...outages.map((o) => (o.to ?? Date.now()) - o.from));
    maxOutageMs = Math.max(maxOutageMs, longest);
    const now = currentSocket(history);
    if (!now) {
      fail("not connected at the end");
      continue;
    }
    if (longest > bound) fail("reconnected too late", { outage_ms: longest });
    const later = history.sockets.filter((s) => s.opened > windowStart);
    if (later.some((s) => s.resumed)) resumed++;
    const changed = later.find((s) => s.websocket_id !== was.websocket_id || s.session_id !== was.session_id);
    if (changed) {
      fail("identity changed", { new_websocket_id: changed.websocket_id, new_session_id: changed.session_id });
      continue;
    }
    const records = recordsByWs.get(was.websocket_id) ?? [];
    if (records.length !== 1) {
      fail(records.length === 0 ? "no record in Redis" : "registered more than once", { records: records.map((r) => r.key) });
      continue;
    }
    const record = records[0]!;
    if (record.session_id !== was.session_id) fail("record in another session", { record_session: record.session_id });
    const instance = record.fields.instance_id;
    if (!instance || !live.has(instance)) fail("record on a dead instance", { instance_id: instance });
    else if (instance !== now.instance_id) fail("record points at another instance than the client's", { record_instance: instance, client_instance: now.instance_id });
  }
  const recoveryMs = recoveryTimes(restarts.map((r) => r.t), histories.values());
  const sessionState = await verifySessionState(context, [...live]);
  const failed = new Set(failures.map((f) => f.client));
  return result(
    before > 0 && failures.length === 0 && sessionState.failures.length === 0,
    { clients_before: before, dropped, resumed, survived: before - failed.size, failed: failed.size, max_outage_ms: maxOutageMs, recovery_ms: recoveryMs, sessions_with_state: sessionState.sessions, session_state_failures: sessionState.failures.length },
    {
      restarts: restarts.map((r) => ({ t: r.t, description: r.description })),
      live_instances: [...live],
      records_in_redis: state.records.length,
      session_state: sessionState.sessions === 0 ? "not exercised: the scenario writes no session state (Step.writeSessionState())" : { read_via: sessionState.via, failures: firstOf(sessionState.failures) },
      failures: firstOf(failures),
      ...(before === 0 ? { reason: "no client was connected when the first restart began" } : {}),
    },
  );
};

/**
 * Per restart (in order): ms from its start to the moment the last client that dropped after it (and before the
 * next restart) was connected again; 0 when no client dropped, `null` when one never came back. `npm run bench --
 * recovery` reads the first one (the kill) as the time to every client resumed.
 */
export function recoveryTimes(starts: readonly number[], histories: Iterable<{ outages: readonly { from: number; to?: number }[] }>): (number | null)[] {
  const times: (number | null)[] = starts.map(() => 0);
  for (const history of histories) {
    for (const outage of history.outages) {
      let i = -1;
      while (i + 1 < starts.length && starts[i + 1]! <= outage.from) i++;
      if (i < 0 || times[i] === null) continue;
      times[i] = outage.to === undefined ? null : Math.max(times[i]!, outage.to - starts[i]!);
    }
  }
  return times;
}

/**
 * Reads back every session state the run wrote, through a live instance and directly from Redis,
 * {@link STATE_READS_IN_FLIGHT} sessions at a time; failures in the order of the writes.
 */
async function verifySessionState(context: CheckContext, live: string[]): Promise<{ sessions: number; via: string | null; failures: Record<string, unknown>[] }> {
  const writes = eventsOf(context.events, "probe", "session_state_written");
  const found: { index: number; failure: Record<string, unknown> }[] = [];
  const candidates = live.filter((id) => context.instanceUrls[id] !== undefined);
  let via: string | null = candidates[0] ?? null;
  await forEachBounded(
    writes,
    STATE_READS_IN_FLIGHT,
    async (write, index) => {
      const fail = (failure: Record<string, unknown>) => found.push({ index, failure });
      const sessionId = write.session_id;
      const written = write.written;
      if (write.status !== 200) {
        fail({ session_id: sessionId, reason: "state write refused", status: write.status, answer: write.answer });
        return;
      }
      const redis = await context.registry.sessionState(sessionId);
      let http: Record<string, string> | undefined;
      let status = 0;
      let body: unknown;
      let readVia: string | null = null;
      // Through the first live instance that answers (one may still be reconnecting to Redis after a fault).
      for (const id of candidates) {
        try {
          const response = await httpRequest(`${context.instanceUrls[id]}/v1/sessions/${encodeURIComponent(sessionId)}/state`, {
            headers: { authorization: `Bearer ${mintClientToken(context.authSecret, { tenantId: write.tenant_id })}` },
            timeoutMs: STATE_READ_TIMEOUT_MS,
          });
          status = response.status;
          body = JSON.parse(response.text);
        } catch (error) {
          status = 0;
          body = { error: (error as Error).message };
        }
        readVia = via = id;
        if (status === 200) break;
      }
      if (status === 200) http = (body as { state?: Record<string, string> }).state;
      const wrong = (seen: Record<string, string> | undefined) => Object.keys(written).filter((field) => seen?.[field] !== written[field]);
      const viaHttp = readVia ? wrong(http) : [];
      const inRedis = wrong(redis);
      if (!readVia) fail({ session_id: sessionId, reason: "no live instance to read through" });
      if (viaHttp.length > 0) fail({ session_id: sessionId, reason: "state changed (read through a live instance)", via: readVia, status, fields: viaHttp, written, read: status === 200 ? http : body });
      if (inRedis.length > 0) fail({ session_id: sessionId, reason: "state changed (read from Redis)", fields: inRedis, written, read: redis });
    },
    context.signal,
  );
  // Stable: a session's own failures keep their order.
  const failures = found.sort((a, b) => a.index - b.index).map((f) => f.failure);
  return { sessions: writes.length, via, failures };
}
