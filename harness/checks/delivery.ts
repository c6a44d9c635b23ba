import { eventsOf, type RunEvent } from "../events/run-events.js";
import { allEvents, firstOf, type Check, type CheckContext } from "./check.js";
import { RouteExpectation, type RouteFacts } from "./route-expectation.js";

/**
 * How long after a fault ends its effects on routes are still excused, ms: a route sent during the fault is
 * answered up to the gateway's remote-ack timeout (2 s) later, a gateway's Redis link comes back within its capped
 * reconnect backoff (0.5 s) and must then resubscribe, and a client that reconnects takes up to its backoff; 5 s
 * covers the sum with room for a loaded machine. Used for partial acks and for the window in which loss is
 * tolerated.
 */
export const FAULT_GRACE_MS = 5_000;

/** Codes the fleet itself gives a route it stopped waiting for: the sender's socket closed, or the fleet stopped. */
const FLEET_GAVE_UP = new Set(["FLEET_SOCKET_CLOSED", "FLEET_STOPPED"]);

/** One fleet route, as the check assembles it. */
interface Route {
  id: string;
  client: string;
  session_id: string;
  to: RouteFacts["to"];
  sent: number;
  ack?: { t: number; delivered: number; partial: boolean };
  error?: { t: number; code: string };
  /** Clients that recorded the message, once each. */
  recipients: Set<string>;
}

/**
 * `delivery`: an independent oracle. From the fleet's own history ({@link RouteExpectation}), each fleet route has
 * expected recipients (the clients of its session matching its filter, never the sender, connected on a live
 * instance unchanged from before the send until `CLOSE_MARGIN_MS` (1 s) after the answer) and ambiguous ones (matching, but connecting,
 * moving or closing around it: excluded from the expectation and counted).
 *
 * - Any window: every route is answered (an ack or an error; the fleet's `FLEET_SOCKET_CLOSED`/`FLEET_STOPPED`
 *   count as answered); nobody receives it twice; nobody outside the candidates (the sender, another session or
 *   tenant, a client the filter does not match) receives it; nobody receives it beyond a plain ack's count.
 * - Outside every fault (plus {@link FAULT_GRACE_MS}): every expected recipient receives it; the ack counts exactly
 *   the recipients (plus at most the ambiguous clients that did not record it: their socket may have taken the
 *   frame as it closed); no ack is partial; a gateway error while expected recipients existed is a loss.
 * - Inside a fault window loss is tolerated, bounded only by the coarser `minDeliveryRatio` over every acked
 *   delivery of the run (received / delivered), kept as the second bound it always was.
 */
export const delivery: Check = async (context) => {
  const t0 = Date.now();
  const faults = faultWindows(context.events);
  const inFault = (from: number, to: number) => faults.some((f) => from <= f.end + FAULT_GRACE_MS && to >= f.start);
  // Every error frame the fleet got, by code (also those naming no route), as evidence.
  const errorCodes: Record<string, number> = {};
  const routes = await collectRoutes(context, errorCodes);
  const duplicateReceipts = await receiptsOfDuplicates(context, routes);
  const oracle = new RouteExpectation(context.events);
  const vanished: string[] = [];
  const duplicates: string[] = [];
  const unexpected: string[] = [];
  const beyondAcked: string[] = [];
  const beyondPartial: string[] = [];
  const unexplainedPartial: string[] = [];
  const lost: string[] = [];
  const refused: string[] = [];
  const ackMismatch: string[] = [];
  const short: string[] = [];
  const counts = { steady: 0, in_fault: 0, gave_up: 0, expected: 0, expected_received: 0, ambiguous: 0, ambiguous_steady: 0, ambiguous_received: 0 };
  let deliveredTotal = 0;
  let receivedOfAcked = 0;
  for (const route of routes.values()) {
    duplicates.push(...route.duplicates.map((client) => `${route.id}>${client}`));
    const answer = route.ack ?? route.error;
    if (!answer) {
      vanished.push(route.id);
      continue;
    }
    const facts: RouteFacts = { client: route.client, session_id: route.session_id, to: route.to, sent: route.sent, answered: answer.t };
    const candidates = oracle.candidates(facts);
    for (const client of route.recipients) {
      if (!candidates.has(client)) unexpected.push(`${route.id}>${client}${client === route.client ? " (the sender)" : ""}`);
    }
    const received = route.recipients.size;
    if (route.ack) {
      const { delivered, partial } = route.ack;
      deliveredTotal += delivered;
      receivedOfAcked += Math.min(received, delivered);
      if (received < delivered) short.push(`${route.id}: delivered ${delivered}, received ${received}`);
      if (received > delivered) (partial ? beyondPartial : beyondAcked).push(`${route.id}: delivered ${delivered}, received ${received}`);
      if (partial && !faults.some((f) => route.ack!.t >= f.start && route.ack!.t <= f.end + FAULT_GRACE_MS)) unexplainedPartial.push(route.id);
    }
    const faulted = inFault(route.sent, answer.t);
    if (faulted) counts.in_fault++;
    else counts.steady++;
    if (route.error && FLEET_GAVE_UP.has(route.error.code)) {
      counts.gave_up++;
      continue;
    }
    let expected = 0;
    let ambiguousMissing = 0;
    const missing: string[] = [];
    for (const [client, standing] of candidates) {
      const got = route.recipients.has(client);
      if (standing === "ambiguous") {
        counts.ambiguous++;
        if (!faulted) counts.ambiguous_steady++;
        if (got) counts.ambiguous_received++;
        else ambiguousMissing++;
        continue;
      }
      expected++;
      counts.expected++;
      if (got) counts.expected_received++;
      else missing.push(client);
    }
    if (faulted) continue;
    if (route.error) {
      if (expected > 0) refused.push(`${route.id}: ${route.error.code} while ${expected} expected recipient(s) were connected`);
      continue;
    }
    if (missing.length > 0) lost.push(`${route.id}: not received by ${missing.join(", ")} (delivered ${route.ack!.delivered}, received ${received})`);
    const delivered = route.ack!.delivered;
    if (delivered < received || delivered > received + ambiguousMissing) {
      ackMismatch.push(`${route.id}: delivered ${delivered}, received ${received}, ambiguous not received ${ambiguousMissing}`);
    }
  }
  const ratio = deliveredTotal === 0 ? 1 : receivedOfAcked / deliveredTotal;
  const min = context.thresholds.minDeliveryRatio;
  const pass =
    routes.size > 0 &&
    vanished.length === 0 &&
    duplicates.length === 0 &&
    unexpected.length === 0 &&
    beyondAcked.length === 0 &&
    unexplainedPartial.length === 0 &&
    lost.length === 0 &&
    refused.length === 0 &&
    ackMismatch.length === 0 &&
    ratio >= min;
  return {
    name: "delivery",
    pass,
    expected: {
      vanished: 0,
      duplicates: 0,
      unexpected_recipients: 0,
      lost_outside_faults: 0,
      refused_outside_faults: 0,
      ack_mismatches_outside_faults: 0,
      partial_acks_outside_faults: 0,
      received_over_delivered_at_least: min,
      fault_grace_ms: FAULT_GRACE_MS,
    },
    actual: {
      sent: routes.size,
      acked: [...routes.values()].filter((r) => r.ack).length,
      errors: [...routes.values()].filter((r) => r.error).length,
      vanished: vanished.length,
      steady_routes: counts.steady,
      in_fault_routes: counts.in_fault,
      expected_recipients: counts.expected,
      expected_received: counts.expected_received,
      ambiguous_recipients: counts.ambiguous,
      ambiguous_outside_faults: counts.ambiguous_steady,
      ambiguous_received: counts.ambiguous_received,
      sender_gave_up: counts.gave_up,
      lost_outside_faults: lost.length,
      refused_outside_faults: refused.length,
      ack_mismatches_outside_faults: ackMismatch.length,
      unexpected_recipients: unexpected.length,
      delivered: deliveredTotal,
      received: receivedOfAcked,
      ratio: Math.round(ratio * 10_000) / 10_000,
      duplicates: duplicates.length,
      beyond_acked: beyondAcked.length,
      partial_acks: [...routes.values()].filter((r) => r.ack?.partial).length,
      partial_acks_outside_faults: unexplainedPartial.length,
      beyond_partial_acks: beyondPartial.length,
    },
    evidence: {
      error_codes: errorCodes,
      vanished: firstOf(vanished),
      unexpected_recipients: firstOf(unexpected),
      lost_outside_faults: firstOf(lost),
      refused_outside_faults: firstOf(refused),
      ack_mismatches_outside_faults: firstOf(ackMismatch),
      short_deliveries: firstOf(short),
      duplicates: firstOf(duplicates),
      duplicate_receipts: duplicateReceipts,
      beyond_acked: firstOf(beyondAcked),
      beyond_partial_acks: firstOf(beyondPartial),
      partial_acks_outside_faults: firstOf(unexplainedPartial),
      fault_windows: faults.map((f) => ({ start: f.start, end: Number.isFinite(f.end) ? f.end : null })),
      ...(routes.size === 0 ? { reason: "no message was routed, so delivery was not exercised" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};

/**
 * The fleet's routes by id, with their answer and recipients (probe and HTTP routes are not the fleet's: skipped),
 * from the whole history streamed back from the event log (message events are mostly not kept in memory); counts
 * every `message_error` by code into `errorCodes`.
 */
async function collectRoutes(context: CheckContext, errorCodes: Record<string, number>): Promise<Map<string, Route & { duplicates: string[] }>> {
  const routes = new Map<string, Route & { duplicates: string[] }>();
  for await (const event of allEvents(context, ["message_sent", "message_acked", "message_error"])) {
    if (event.source !== "fleet") continue;
    switch (event.type) {
      case "message_sent":
        routes.set(event.message_id, { id: event.message_id, client: event.client, session_id: event.session_id, to: event.to, sent: event.t, recipients: new Set(), duplicates: [] });
        break;
      case "message_acked": {
        const route = routes.get(event.message_id);
        if (route && !route.ack) route.ack = { t: event.t, delivered: event.delivered, partial: event.partial === true };
        break;
      }
      case "message_error": {
        errorCodes[event.code] = (errorCodes[event.code] ?? 0) + 1;
        const route = event.message_id === undefined ? undefined : routes.get(event.message_id);
        if (route && !route.error && !route.ack) route.error = { t: event.t, code: event.code };
        break;
      }
      default:
        break;
    }
  }
  // Receipts may be recorded before their route's send (workers flush independently): a second pass.
  for await (const event of allEvents(context, ["message_received"])) {
    if (event.source !== "fleet" || event.type !== "message_received") continue;
    const route = routes.get(event.message_id);
    if (!route) continue;
    if (route.recipients.has(event.client)) route.duplicates.push(event.client);
    else route.recipients.add(event.client);
  }
  return routes;
}

/** How many duplicated receipts {@link receiptsOfDuplicates} details. */
const DUPLICATES_DETAILED = 10;

/** Every copy a client recorded of a route it received more than once, for the evidence. */
interface DuplicateReceipts {
  route: string;
  client: string;
  sent: number;
  answered: number | null;
  /** Each copy: when the client recorded it and on which of its connections. */
  receipts: { t: number; websocket_id: string | null }[];
}

/**
 * The copies of the first {@link DUPLICATES_DETAILED} duplicated receipts, read in one more pass over the history
 * only when there are any (a run without duplicates pays nothing). Their times and connections tell a route
 * delivered twice over one socket a few milliseconds apart (a message taken twice from Redis) from one delivered
 * again after a reconnect.
 */
async function receiptsOfDuplicates(context: CheckContext, routes: ReadonlyMap<string, Route & { duplicates: string[] }>): Promise<DuplicateReceipts[]> {
  const detailed = new Map<string, DuplicateReceipts>();
  for (const route of routes.values()) {
    for (const client of route.duplicates) {
      if (detailed.size >= DUPLICATES_DETAILED) break;
      detailed.set(`${route.id}>${client}`, { route: route.id, client, sent: route.sent, answered: (route.ack ?? route.error)?.t ?? null, receipts: [] });
    }
  }
  if (detailed.size === 0) return [];
  for await (const event of allEvents(context, ["message_received"])) {
    if (event.source !== "fleet" || event.type !== "message_received") continue;
    detailed.get(`${event.message_id}>${event.client}`)?.receipts.push({ t: event.t, websocket_id: event.websocket_id ?? null });
  }
  return [...detailed.values()];
}

/** Every fault's interval on the timeline (open-ended when it never ended), from the fault events. */
function faultWindows(events: readonly RunEvent[]): { start: number; end: number }[] {
  const ends = new Map<string, number>();
  for (const event of eventsOf(events, "fault", "fault_end")) ends.set(event.fault_id, event.t);
  return eventsOf(events, "fault", "fault_start").map((start) => ({ start: start.t, end: ends.get(start.fault_id) ?? Number.POSITIVE_INFINITY }));
}
