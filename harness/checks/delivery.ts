import { eventsOf, type RunEvent } from "../events/run-events.js";
import { firstOf, type Check } from "./check.js";

/**
 * How long after a fault ends an ack may still be `partial` because of it, ms: a route sent during the fault is
 * answered up to the gateway's remote-ack timeout (2 s) later, and Redis links take a moment to come back.
 */
const PARTIAL_ACK_GRACE_MS = 5_000;

/**
 * `delivery`: every routed message is acknowledged (and each acknowledged delivery reaches its client), or is
 * answered with an error; none vanish silently. `FLEET_SOCKET_CLOSED` (the sender's own socket dropped before
 * the ack) counts as answered: the client saw it. Duplicates and deliveries beyond the acked count fail, except
 * beyond an ack marked `partial` (the gateway said its count is a lower bound, because Redis was cut or slow);
 * a partial ack outside every fault (plus {@link PARTIAL_ACK_GRACE_MS}) fails: nothing excused it.
 * received/delivered must reach `minDeliveryRatio`.
 */
export const delivery: Check = async (context) => {
  const t0 = Date.now();
  const sent = new Map<string, { t: number; client: string }>();
  const acked = new Map<string, number>();
  const partial = new Set<string>();
  const unexplainedPartial: string[] = [];
  const faults = faultWindows(context.events);
  const errored = new Map<string, string>();
  const received = new Map<string, number>();
  const receivedBy = new Set<string>();
  const duplicates: string[] = [];
  const errorCodes: Record<string, number> = {};
  for (const event of context.events) {
    if (event.source !== "fleet") continue;
    switch (event.type) {
      case "message_sent":
        if (event.message_id) sent.set(event.message_id, { t: event.t, client: event.client });
        break;
      case "message_acked": {
        const id = event.message_id;
        if (id) {
          acked.set(id, event.delivered);
          if (event.partial === true) {
            partial.add(id);
            if (!faults.some((f) => event.t >= f.start && event.t <= f.end + PARTIAL_ACK_GRACE_MS)) unexplainedPartial.push(id);
          }
        }
        break;
      }
      case "message_error": {
        const code = event.code;
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        if (event.message_id) errored.set(event.message_id, code);
        break;
      }
      case "message_received": {
        const id = event.message_id;
        if (id) {
          const key = `${id}>${event.client}`;
          if (receivedBy.has(key)) duplicates.push(key);
          receivedBy.add(key);
          received.set(id, (received.get(id) ?? 0) + 1);
        }
        break;
      }
      default:
        break;
    }
  }
  const vanished: string[] = [];
  let deliveredTotal = 0;
  let receivedOfAcked = 0;
  const short: string[] = [];
  const extra: string[] = [];
  const beyondPartial: string[] = [];
  for (const id of sent.keys()) {
    const n = acked.get(id);
    if (n === undefined) {
      if (!errored.has(id)) vanished.push(id);
      continue;
    }
    const got = received.get(id) ?? 0;
    deliveredTotal += n;
    receivedOfAcked += Math.min(got, n);
    if (got < n) short.push(`${id}: delivered ${n}, received ${got}`);
    if (got > n) (partial.has(id) ? beyondPartial : extra).push(`${id}: delivered ${n}, received ${got}`);
  }
  const ratio = deliveredTotal === 0 ? 1 : receivedOfAcked / deliveredTotal;
  const min = context.thresholds.minDeliveryRatio;
  const pass = sent.size > 0 && vanished.length === 0 && duplicates.length === 0 && extra.length === 0 && unexplainedPartial.length === 0 && ratio >= min;
  return {
    name: "delivery",
    pass,
    expected: { vanished: 0, duplicates: 0, received_over_delivered_at_least: min, partial_acks_outside_faults: 0 },
    actual: {
      sent: sent.size,
      acked: acked.size,
      errors: errored.size,
      vanished: vanished.length,
      delivered: deliveredTotal,
      received: receivedOfAcked,
      ratio: Math.round(ratio * 10_000) / 10_000,
      duplicates: duplicates.length,
      beyond_acked: extra.length,
      partial_acks: partial.size,
      partial_acks_outside_faults: unexplainedPartial.length,
      beyond_partial_acks: beyondPartial.length,
    },
    evidence: {
      error_codes: errorCodes,
      vanished: firstOf(vanished),
      short_deliveries: firstOf(short),
      duplicates: firstOf(duplicates),
      beyond_acked: firstOf(extra),
      beyond_partial_acks: firstOf(beyondPartial),
      partial_acks_outside_faults: firstOf(unexplainedPartial),
      ...(sent.size === 0 ? { reason: "no message was routed, so delivery was not exercised" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};

/** Every fault's interval on the timeline (open-ended when it never ended), from the fault events. */
function faultWindows(events: readonly RunEvent[]): { start: number; end: number }[] {
  const ends = new Map<string, number>();
  for (const event of eventsOf(events, "fault", "fault_end")) ends.set(event.fault_id, event.t);
  return eventsOf(events, "fault", "fault_start").map((start) => ({ start: start.t, end: ends.get(start.fault_id) ?? Number.POSITIVE_INFINITY }));
}
