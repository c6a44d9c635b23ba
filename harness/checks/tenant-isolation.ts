import { eventsOf } from "../events/run-events.js";
import { allEvents, firstOf, type Check } from "./check.js";

/**
 * `tenant-isolation`: no cross-tenant lookup or delivery ever succeeds. Judges every `isolation_probe` of
 * `Step.probeTenantIsolation()`: each cross-tenant request (HTTP lookups by id and by session, routes, session
 * state reads and writes; WS routes, connects into a foreign session, resumes of a foreign websocket_id) must
 * look exactly like the same request for a missing id (which itself must be the documented not-found answer,
 * else the attempt proves nothing and fails as inconclusive), and must not get a welcome. Then, from the history: no
 * fleet client received a probe's routed message, and no foreign field written by a probe is in Redis. An attempt
 * answered `REGISTRY_UNAVAILABLE` (which never reached the registry) was made again for up to 2 s by the probe
 * (`retried`: how many were); one still unavailable then is judged as answered.
 */
export const tenantIsolation: Check = async (context) => {
  const t0 = Date.now();
  const probes = eventsOf(context.events, "probe", "isolation_probe");
  const victimOf = (p: (typeof probes)[number]) => ("victim" in p ? p.victim : undefined);
  const baselineOf = (p: (typeof probes)[number]) => ("baseline" in p ? p.baseline : undefined);
  const leaks = probes.filter((p) => p.leaked).map((p) => ({ kind: p.kind, channel: p.channel, via: p.via, victim: victimOf(p), answer: p.answer, baseline: baselineOf(p) }));
  const inconclusive = probes.filter((p) => p.inconclusive).map((p) => ({ kind: p.kind, channel: p.channel, via: p.via, answer: p.answer, baseline: baselineOf(p) }));
  const probeMessageIds = new Set(probes.map((p) => ("message_id" in p ? p.message_id : undefined)).filter((id): id is string => typeof id === "string"));
  const delivered: { message_id: string; client: string; session_id: string }[] = [];
  for await (const e of allEvents(context, ["message_received"])) {
    if (e.source === "fleet" && e.type === "message_received" && probeMessageIds.has(e.message_id)) delivered.push({ message_id: e.message_id, client: e.client, session_id: e.session_id });
  }
  const written: { session_id: string; field: string; value: string }[] = [];
  for (const p of probes) {
    if (p.kind !== "session_state_write" || p.field === undefined) continue;
    const state = await context.registry.sessionState(p.victim.session_id);
    const field = p.field;
    if (field in state) written.push({ session_id: p.victim.session_id, field, value: state[field]! });
  }
  const kinds: Record<string, number> = {};
  for (const p of probes) kinds[`${p.channel}:${p.kind}`] = (kinds[`${p.channel}:${p.kind}`] ?? 0) + 1;
  return {
    name: "tenant-isolation",
    pass: probes.length > 0 && leaks.length === 0 && inconclusive.length === 0 && delivered.length === 0 && written.length === 0,
    expected: { cross_tenant_answers_equal_not_found: true, cross_tenant_deliveries: 0, cross_tenant_writes: 0 },
    actual: { attempts: probes.length, retried: probes.filter((p) => (p.retries ?? 0) > 0).length, leaks: leaks.length, inconclusive: inconclusive.length, deliveries: delivered.length, writes: written.length },
    evidence: {
      attempts_by_kind: kinds,
      leaks: firstOf(leaks),
      inconclusive: firstOf(inconclusive),
      deliveries: firstOf(delivered),
      writes: firstOf(written),
      ...(probes.length === 0 ? { reason: "nothing was probed: the scenario needs Step.probeTenantIsolation()" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};
