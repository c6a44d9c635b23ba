import { firstOf, type Check } from "./check.js";

/**
 * `delivery`: every routed message is acknowledged (and each acknowledged delivery reaches its client), or is
 * answered with an error; none vanish silently. `FLEET_SOCKET_CLOSED` (the sender's own socket dropped before
 * the ack) counts as answered: the client saw it. Duplicates and deliveries beyond the acked count fail, except
 * beyond an ack marked `partial` (the gateway said its count is a lower bound); received/delivered must reach
 * `minDeliveryRatio`.
 */
export const delivery: Check = async (context) => {
  const t0 = Date.now();
  const sent = new Map<string, { t: number; client: string }>();
  const acked = new Map<string, number>();
  const partial = new Set<string>();
  const errored = new Map<string, string>();
  const received = new Map<string, number>();
  const receivedBy = new Set<string>();
  const duplicates: string[] = [];
  const errorCodes: Record<string, number> = {};
  for (const event of context.events) {
    if (event.source !== "fleet") continue;
    const id = event.message_id as string | undefined;
    switch (event.type) {
      case "message_sent":
        if (id) sent.set(id, { t: event.t, client: event.client as string });
        break;
      case "message_acked":
        if (id) {
          acked.set(id, (event.delivered as number) ?? 0);
          if (event.partial === true) partial.add(id);
        }
        break;
      case "message_error": {
        const code = (event.code as string) ?? "UNKNOWN";
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        if (id) errored.set(id, code);
        break;
      }
      case "message_received":
        if (id) {
          const key = `${id}>${event.client as string}`;
          if (receivedBy.has(key)) duplicates.push(key);
          receivedBy.add(key);
          received.set(id, (received.get(id) ?? 0) + 1);
        }
        break;
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
  const pass = sent.size > 0 && vanished.length === 0 && duplicates.length === 0 && extra.length === 0 && ratio >= min;
  return {
    name: "delivery",
    pass,
    expected: { vanished: 0, duplicates: 0, received_over_delivered_at_least: min },
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
      beyond_partial_acks: beyondPartial.length,
    },
    evidence: {
      error_codes: errorCodes,
      vanished: firstOf(vanished),
      short_deliveries: firstOf(short),
      duplicates: firstOf(duplicates),
      beyond_acked: firstOf(extra),
      beyond_partial_acks: firstOf(beyondPartial),
      ...(sent.size === 0 ? { reason: "no message was routed, so delivery was not exercised" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};
