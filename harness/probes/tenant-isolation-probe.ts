import { randomBytes } from "node:crypto";
import { askWhileUnavailable, httpProbe, isRegistryUnavailable, openProbeSocketWhileUnavailable, tenantToken, type HttpProbeResult, type ProbeSocket } from "./probe-io.js";
import type { IsolationProbeHttpEvent } from "../events/run-events.js";
import { liveConnections, type ProbeContext, type ProbeInstance } from "./probe-context.js";

/** Options of {@link probeTenantIsolation}. */
export interface ProbeTenantIsolationOptions {
  /** Victim connections (of the fleet's tenants) probed from another tenant. @default 3 */
  victims?: number;
}

/** Replaces every occurrence of `id` in a JSON answer, so that a foreign and a missing id compare alike. */
function normalise(value: unknown, id: string): string {
  return JSON.stringify(value ?? null).split(id).join("<id>");
}

/** Drops the per-request `id` of a WS answer. */
function withoutId(frame: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ...rest } = frame;
  return rest;
}

/**
 * Probes, from a tenant of its own (a token minted for `probe-<run id>`), the data of other tenants: for a seeded
 * sample of the fleet's live connections, over HTTP (connection lookup by websocket_id: the reverse index;
 * session lookup; route; session state read and write) and over WebSocket (route by websocket_id and to the whole
 * session; connect into the session; resume of the victim's websocket_id), each from the instance holding the
 * victim's connection (`path` `local`) and from another one (`remote`). Each attempt is compared with the
 * same request for an id that does not exist, and recorded as one `isolation_probe` event
 * (`kind`, `channel`, `via`, `victim`, `answer`, `baseline`, `leaked`). Message ids of routed probes are recorded
 * too, so the check can see whether any of them reached a fleet client.
 */
export async function probeTenantIsolation(context: ProbeContext, options: ProbeTenantIsolationOptions = {}): Promise<void> {
  const tenant = `probe-${context.runId}`.slice(0, 128);
  const token = tenantToken(context.authSecret, tenant);
  const instances = context.liveInstances();
  const victims = context.random.shuffle(liveConnections(context.events).filter((c) => c.tenant_id !== tenant)).slice(0, options.victims ?? 3);
  const sockets: ProbeSocket[] = [];
  try {
    for (const [n, victim] of victims.entries()) {
      // From the victim's own instance (the local path: the target is held there) and from another one (remote).
      const holder = instances.find((i) => i.id === victim.instance_id);
      const others = instances.filter((i) => i.id !== victim.instance_id);
      const vias: { via: ProbeInstance; path: "local" | "remote" }[] = [...(holder ? [{ via: holder, path: "local" as const }] : []), ...(others.length > 0 ? [{ via: others[n % others.length]!, path: "remote" as const }] : [])];
      for (const { via, path } of vias) {
        const missingWs = `probe-missing-${randomBytes(4).toString("hex")}`;
        const missingSession = `probe-missing-${randomBytes(4).toString("hex")}`;
        // The foreign request and the same request for a missing id, asked again together while either is answered
        // REGISTRY_UNAVAILABLE: such an answer never reached the registry, and would differ from the other for that
        // reason alone (a leak that is none) or leave the comparison without its baseline.
        const ask = <T extends object>(attack: () => Promise<T>, missing: () => Promise<T>) =>
          askWhileUnavailable(async () => [await attack(), await missing()] as const, ([a, b]) => isRegistryUnavailable(a) || isRegistryUnavailable(b), context.signal);
        const recordHttp = async (kind: IsolationProbeHttpEvent["kind"], attack: () => Promise<HttpProbeResult>, missing: () => Promise<HttpProbeResult>, foreignId: string, missingId: string, extra: Pick<IsolationProbeHttpEvent, "field"> = {}) => {
          const {
            answer: [raw, rawBaseline],
            retries,
          } = await ask(attack, missing);
          // A route's answer carries the route's own id, which is not part of the comparison.
          const messageId = kind === "route_http" ? (raw.body as { id?: string } | null)?.id : undefined;
          const answer = kind === "route_http" ? { ...raw, body: withoutMessageId(raw.body) } : raw;
          const baseline = kind === "route_http" ? { ...rawBaseline, body: withoutMessageId(rawBaseline.body) } : rawBaseline;
          const leaked = answer.status !== baseline.status || normalise(answer.body, foreignId) !== normalise(baseline.body, missingId);
          // The comparison proves isolation only when the baseline is the documented not-found answer.
          const inconclusive = baseline.status !== (kind === "session_state_read" ? 200 : 404);
          context.record({
            type: "isolation_probe",
            channel: "http",
            kind,
            inconclusive,
            via: via.id,
            path,
            victim: { websocket_id: victim.websocket_id, session_id: victim.session_id, tenant_id: victim.tenant_id },
            answer: { status: answer.status, body: answer.body },
            baseline: { status: baseline.status, body: baseline.body },
            leaked,
            ...(messageId ? { message_id: messageId } : {}),
            ...extra,
            ...(retries > 0 ? { retries } : {}),
          });
        };
        const base = via.httpUrl;
        const enc = encodeURIComponent;
        await recordHttp("connection_lookup", () => httpProbe(`${base}/v1/connections/${enc(victim.websocket_id)}`, { token }), () => httpProbe(`${base}/v1/connections/${enc(missingWs)}`, { token }), victim.websocket_id, missingWs);
        await recordHttp("session_lookup", () => httpProbe(`${base}/v1/sessions/${enc(victim.session_id)}/connections`, { token }), () => httpProbe(`${base}/v1/sessions/${enc(missingSession)}/connections`, { token }), victim.session_id, missingSession);
        await recordHttp(
          "route_http",
          () => httpProbe(`${base}/v1/sessions/${enc(victim.session_id)}/messages`, { token, method: "POST", body: { to: { websocket_id: victim.websocket_id }, payload: { probe: "tenant-isolation" } } }),
          () => httpProbe(`${base}/v1/sessions/${enc(missingSession)}/messages`, { token, method: "POST", body: { to: { websocket_id: missingWs }, payload: { probe: "tenant-isolation" } } }),
          victim.session_id,
          missingSession,
        );
        await recordHttp("session_state_read", () => httpProbe(`${base}/v1/sessions/${enc(victim.session_id)}/state`, { token }), () => httpProbe(`${base}/v1/sessions/${enc(missingSession)}/state`, { token }), victim.session_id, missingSession);
        const field = `probe_${randomBytes(3).toString("hex")}`;
        await recordHttp(
          "session_state_write",
          () => httpProbe(`${base}/v1/sessions/${enc(victim.session_id)}/state`, { token, method: "PUT", body: { set: { [field]: "x" } } }),
          () => httpProbe(`${base}/v1/sessions/${enc(missingSession)}/state`, { token, method: "PUT", body: { set: { [field]: "x" } } }),
          victim.session_id,
          missingSession,
          { field },
        );

        // WebSocket: a socket of the probe tenant in a session of its own routes into the victim's session.
        // A connect refused REGISTRY_UNAVAILABLE is asked again like the requests above: its record was never written.
        const connect = async (sessionId: string, websocketId?: string) =>
          openProbeSocketWhileUnavailable({ baseUrl: via.wsUrl, wsPath: context.wsPath, token, sessionId, ...(websocketId === undefined ? {} : { websocketId }) }, context.signal);
        const { answer: own } = await connect(`probe-${randomBytes(4).toString("hex")}`);
        if (own.ok) {
          sockets.push(own.socket);
          for (const [kind, to] of [["route_ws_websocket_id", { websocket_id: victim.websocket_id }], ["route_ws_session", {}]] as const) {
            const baselineTo = "websocket_id" in to ? { websocket_id: missingWs } : {};
            const {
              answer: [answer, baseline],
              retries,
            } = await ask(
              () => own.socket.request({ type: "route", session_id: victim.session_id, to, payload: { probe: "tenant-isolation" } }),
              () => own.socket.request({ type: "route", session_id: missingSession, to: baselineTo, payload: { probe: "tenant-isolation" } }),
            );
            const leaked = answer.type !== "error" || normalise(withoutId(answer), victim.session_id) !== normalise(withoutId(baseline), missingSession);
            const inconclusive = baseline.type !== "error" || baseline.code !== "NOT_FOUND";
            context.record({ type: "isolation_probe", channel: "ws", kind, inconclusive, via: via.id, path, victim: { websocket_id: victim.websocket_id, session_id: victim.session_id, tenant_id: victim.tenant_id }, answer, baseline, leaked, message_id: answer.id ?? null, ...(retries > 0 ? { retries } : {}) });
          }
        } else {
          context.record({ type: "isolation_probe", channel: "ws", kind: "probe_socket", via: via.id, path, answer: own.ok ? null : own, leaked: false, inconclusive: true, error: "the probe tenant could not connect to a session of its own" });
        }
        const { answer: intrude, retries: intrudeRetries } = await connect(victim.session_id);
        if (intrude.ok) sockets.push(intrude.socket);
        context.record({
          type: "isolation_probe",
          channel: "ws",
          kind: "connect_foreign_session",
          via: via.id,
          victim: { websocket_id: victim.websocket_id, session_id: victim.session_id, tenant_id: victim.tenant_id },
          answer: intrude.ok ? { welcome: intrude.welcome } : { status: intrude.status, body: intrude.body, close_code: intrude.close_code, error: intrude.error },
          leaked: intrude.ok,
          inconclusive: !intrude.ok && intrude.status !== 403 && intrude.close_code !== 1008,
          path,
          ...(intrudeRetries > 0 ? { retries: intrudeRetries } : {}),
        });
        const { answer: resume, retries: resumeRetries } = await connect(`probe-${randomBytes(4).toString("hex")}`, victim.websocket_id);
        if (resume.ok) sockets.push(resume.socket);
        context.record({
          type: "isolation_probe",
          channel: "ws",
          kind: "resume_foreign_websocket_id",
          via: via.id,
          victim: { websocket_id: victim.websocket_id, session_id: victim.session_id, tenant_id: victim.tenant_id },
          answer: resume.ok ? { welcome: resume.welcome } : { status: resume.status, body: resume.body, close_code: resume.close_code },
          leaked: resume.ok && (resume.welcome.websocket_id === victim.websocket_id || resume.welcome.resumed),
          inconclusive: !resume.ok,
          path,
          ...(resumeRetries > 0 ? { retries: resumeRetries } : {}),
        });
      }
    }
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }
}

function withoutMessageId(body: unknown): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const { id: _id, ...rest } = body as Record<string, unknown>;
  return rest;
}
