import { httpProbe, tenantToken } from "./probe-io.js";
import { liveConnections, type ProbeContext } from "./probe-context.js";

/** Options of {@link probeLookups}. */
export interface ProbeLookupsOptions {
  /** Live connections looked up (a seeded sample). @default 20 */
  maxConnections?: number;
}

/**
 * Looks up a seeded sample of the fleet's live connections from every live instance, by id
 * (`GET /v1/connections/:websocket_id`) and through the session (`GET /v1/sessions/:id/connections`), with the
 * owner tenant's token, then reads their records straight from Redis. Records one `lookup_probe` per connection
 * (`answers` per instance and kind, `redis` fields). Then, for each ordered pair of live instances (A, B), routes a
 * message over HTTP on A to a client held by B and records `route_probe` (`via`, `holder`, `client`,
 * `message_id`, `status`, `delivered`); `cross-instance-lookup` looks for its arrival in the fleet's history.
 */
export async function probeLookups(context: ProbeContext, options: ProbeLookupsOptions = {}): Promise<void> {
  const instances = context.liveInstances();
  const connections = context.random.shuffle(liveConnections(context.events)).slice(0, options.maxConnections ?? 20);
  const answers = await Promise.all(
    connections.map(async (connection) => {
      const token = tenantToken(context.authSecret, connection.tenant_id);
      const perInstance = await Promise.all(
        instances.map(async (instance) => {
          const byId = await httpProbe(`${instance.httpUrl}/v1/connections/${encodeURIComponent(connection.websocket_id)}`, { token });
          const bySession = await httpProbe(`${instance.httpUrl}/v1/sessions/${encodeURIComponent(connection.session_id)}/connections`, { token });
          const listed = (bySession.body as { connections?: { websocket_id?: string }[] } | null)?.connections?.find((r) => r.websocket_id === connection.websocket_id);
          return {
            via: instance.id,
            connection: { status: byId.status, record: byId.status === 200 ? byId.body : undefined, body: byId.status === 200 ? undefined : byId.body, latency_ms: byId.latency_ms },
            session: { status: bySession.status, record: listed, body: bySession.status === 200 ? undefined : bySession.body, latency_ms: bySession.latency_ms },
          };
        }),
      );
      return { connection, perInstance };
    }),
  );
  const state = await context.registry.read().catch(() => undefined);
  for (const { connection, perInstance } of answers) {
    const redis = state?.records.find((r) => r.websocket_id === connection.websocket_id && r.session_id === connection.session_id);
    context.record({
      type: "lookup_probe",
      client: connection.client,
      websocket_id: connection.websocket_id,
      session_id: connection.session_id,
      holder: connection.instance_id,
      instances: instances.map((i) => i.id),
      answers: perInstance,
      redis: redis ? redis.fields : null,
    });
  }
  const live = liveConnections(context.events);
  for (const via of instances) {
    for (const holder of instances) {
      if (via.id === holder.id) continue;
      const held = live.filter((c) => c.instance_id === holder.id);
      if (held.length === 0) {
        context.record({ type: "route_probe", via: via.id, holder: holder.id, skipped: "no fleet client on the holder" });
        continue;
      }
      const target = context.random.pick(held);
      const answer = await httpProbe(`${via.httpUrl}/v1/sessions/${encodeURIComponent(target.session_id)}/messages`, {
        token: tenantToken(context.authSecret, target.tenant_id),
        method: "POST",
        body: { to: { websocket_id: target.websocket_id }, payload: { probe: "cross-instance" } },
      });
      const body = answer.body as { id?: string; delivered?: number } | null;
      context.record({
        type: "route_probe",
        via: via.id,
        holder: holder.id,
        client: target.client,
        websocket_id: target.websocket_id,
        session_id: target.session_id,
        status: answer.status,
        message_id: body?.id ?? null,
        delivered: body?.delivered ?? null,
        ...(answer.status !== 200 ? { body: answer.body } : {}),
      });
    }
  }
}
