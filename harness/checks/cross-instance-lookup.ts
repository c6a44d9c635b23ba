import { retryUntil } from "../common/retry.js";
import { eventsOf, isRouteProbeSent } from "../events/run-events.js";
import { allEvents, firstOf, type Check } from "./check.js";
import { buildClientHistories, connectedAt } from "./client-history.js";

const RECORD_FIELDS = ["websocket_id", "session_id", "tenant_id", "agent_type", "pillar", "instance_id", "connected_at", "last_activity_at"] as const;
/** How long a probe route may take to show up in the fleet's history, in ms. */
const ARRIVAL_TIMEOUT_MS = 3_000;

// The heartbeat may rewrite last_activity_at between two lookups: every other field must be identical.
const STABLE_FIELDS = RECORD_FIELDS.filter((f) => f !== "last_activity_at");

function fieldsOf(record: unknown): Record<string, string> | undefined {
  if (record === null || typeof record !== "object") return undefined;
  return Object.fromEntries(RECORD_FIELDS.map((f) => [f, String(Reflect.get(record, f))]));
}

function differences(a: Record<string, string>, b: Record<string, string>): string[] {
  return STABLE_FIELDS.filter((f) => a[f] !== b[f]).map((f) => `${f}: ${a[f]} vs ${b[f]}`);
}

/**
 * `cross-instance-lookup`: every probed live connection (`Step.probeLookups`) is found from every live instance,
 * by id and through its session, with fields equal to each other and to its record read directly from Redis;
 * and a message routed on instance A reaches the fleet client held by instance B, for every pair probed (the
 * client's `message_received` of the route's id), as do the fleet's own routes across instances (counted).
 */
export const crossInstanceLookup: Check = async (context) => {
  const t0 = Date.now();
  const lookups = eventsOf(context.events, "probe", "lookup_probe");
  const routes = eventsOf(context.events, "probe", "route_probe").filter(isRouteProbeSent);
  const failures: Record<string, unknown>[] = [];
  let answersChecked = 0;
  for (const probe of lookups) {
    const redis = fieldsOf(probe.redis);
    const base = { websocket_id: probe.websocket_id, holder: probe.holder };
    if (!redis) failures.push({ ...base, reason: "no record in Redis" });
    for (const answer of probe.answers) {
      for (const kind of ["connection", "session"] as const) {
        answersChecked++;
        const got = answer[kind];
        const fields = got.status === 200 ? fieldsOf(got.record) : undefined;
        if (!fields) {
          failures.push({ ...base, via: answer.via, kind, reason: "not visible", status: got.status, body: got.body });
          continue;
        }
        if (redis) {
          const diff = differences(fields, redis);
          if (diff.length > 0) failures.push({ ...base, via: answer.via, kind, reason: "fields differ from Redis", diff });
        }
      }
    }
  }
  // Only the probes' own message ids are looked for, so the set stays as small as the probes however long the run.
  const probeIds = new Set(routes.map((r) => r.message_id).filter((id): id is string => typeof id === "string"));
  const missingArrivals = async () => {
    const received = new Set<string>();
    for await (const e of allEvents(context, ["message_received"])) {
      if (e.source === "fleet" && e.type === "message_received" && probeIds.has(e.message_id)) received.add(`${e.message_id}>${e.client}`);
    }
    return routes.filter((r) => !(r.status === 200 && typeof r.message_id === "string" && received.has(`${r.message_id}>${r.client}`)));
  };
  let unreached = await missingArrivals();
  if (unreached.length > 0) {
    // Deliveries arrive in the fleet's event batches: give them a moment.
    unreached = await retryUntil(
      missingArrivals,
      (left) => left.length === 0,
      () => new Error("not arrived"),
      { timeoutMs: ARRIVAL_TIMEOUT_MS, intervalMs: 100, ...(context.signal ? { signal: context.signal } : {}) },
    ).catch((error: unknown) => {
      if ((error as { code?: string }).code === "HARNESS_ERR_ABORTED") throw error;
      return missingArrivals();
    });
  }
  for (const route of unreached) {
    failures.push({ reason: "route from another instance did not reach its client", via: route.via, holder: route.holder, client: route.client, status: route.status, delivered: route.delivered, message_id: route.message_id });
  }
  // The fleet's own routes: receptions where the sender's instance differs from the receiver's, for context.
  const histories = buildClientHistories(context.events);
  const sentFrom = new Map<string, string | undefined>();
  for await (const e of allEvents(context, ["message_sent"])) {
    if (e.source !== "fleet" || e.type !== "message_sent") continue;
    const history = histories.get(e.client);
    sentFrom.set(e.message_id, history ? connectedAt(history, e.t)?.instance_id : undefined);
  }
  let fleetCrossInstance = 0;
  for await (const e of allEvents(context, ["message_received"])) {
    if (e.source !== "fleet" || e.type !== "message_received") continue;
    const history = histories.get(e.client);
    const at = history ? connectedAt(history, e.t)?.instance_id : undefined;
    const from = sentFrom.get(e.message_id);
    if (from !== undefined && at !== undefined && from !== at) fleetCrossInstance++;
  }
  const instancesSeen = new Set(lookups.flatMap((p) => p.instances));
  const exercised = lookups.length > 0 && instancesSeen.size >= 2 && routes.length > 0;
  return {
    name: "cross-instance-lookup",
    pass: exercised && failures.length === 0,
    expected: { visible_from_every_instance_with_equal_fields: true, routes_across_instances_reach_their_client: true },
    actual: {
      connections_probed: lookups.length,
      instances: instancesSeen.size,
      lookups_checked: answersChecked,
      route_probes: routes.length,
      route_probes_unreached: unreached.length,
      failures: failures.length,
      fleet_cross_instance_receptions: fleetCrossInstance,
    },
    evidence: {
      failures: firstOf(failures),
      compared_fields: STABLE_FIELDS,
      ...(exercised ? {} : { reason: "nothing was probed: the scenario needs Step.probeLookups() with at least two live instances" }),
    },
    duration_ms: Date.now() - t0,
  };
};
