import type { RunEvent } from "../report/run-result.js";
import type { ThresholdMetric } from "./define-scenario.js";

/*
 * Events are read only through the accessors below (source, type and a few typed fields), so that a change of the
 * event model touches this block alone.
 */
const eventSource = (event: RunEvent): string => event.source;
const eventType = (event: RunEvent): string => event.type;
const numberField = (event: RunEvent, field: string): number | undefined => {
  const value = (event as unknown as Record<string, unknown>)[field];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
};
const stringField = (event: RunEvent, field: string): string | undefined => {
  const value = (event as unknown as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
};
const isFleet = (event: RunEvent, type: string): boolean => eventSource(event) === "fleet" && eventType(event) === type;

/** `latency_ms` of each HTTP answer of a `lookup_probe` event (by id and by session, per instance). */
function lookupLatencies(event: RunEvent): number[] {
  const answers = (event as unknown as Record<string, unknown>).answers;
  if (!Array.isArray(answers)) return [];
  const out: number[] = [];
  for (const answer of answers as Record<string, unknown>[]) {
    for (const kind of ["connection", "session"]) {
      const latency = (answer?.[kind] as { latency_ms?: unknown } | undefined)?.latency_ms;
      if (typeof latency === "number" && Number.isFinite(latency)) out.push(latency);
    }
  }
  return out;
}

/**
 * The figures thresholds bound, gathered from a run's events incrementally: `consume()` reads only the events
 * appended since its last call, so the abort monitor can call it every second on a growing history.
 */
export class ThresholdMetrics {
  readonly #values: Record<Exclude<ThresholdMetric, "error_rate">, number[]> = { ack_latency: [], delivery_latency: [], connect_latency: [], lookup_latency: [], reconnect_time: [] };
  /** Ack latencies of the acks without `"partial":true`. */
  readonly #confirmedAcks: number[] = [];
  /** Message errors by code. */
  readonly #errors = new Map<string, number>();
  #sent = 0;
  /** Epoch ms of each client's unexpected disconnect, until its next welcome. */
  readonly #disconnectedAt = new Map<string, number>();
  #consumed = 0;

  /** Reads the events from where the last call stopped (the array only grows). */
  consume(events: readonly RunEvent[]): void {
    for (; this.#consumed < events.length; this.#consumed++) this.add(events[this.#consumed]!);
  }

  /** Adds one event (for a caller that hands events over as they are recorded instead of {@link consume}). */
  add(event: RunEvent): void {
    if (eventSource(event) === "probe" && eventType(event) === "lookup_probe") {
      this.#values.lookup_latency.push(...lookupLatencies(event));
      return;
    }
    if (eventSource(event) !== "fleet") return;
    const latency = numberField(event, "latency_ms");
    const client = stringField(event, "client");
    if (isFleet(event, "message_sent")) this.#sent++;
    else if (isFleet(event, "message_acked") && latency !== undefined) {
      this.#values.ack_latency.push(latency);
      if ((event as unknown as { partial?: unknown }).partial !== true) this.#confirmedAcks.push(latency);
    }
    else if (isFleet(event, "message_received") && latency !== undefined) this.#values.delivery_latency.push(latency);
    else if (isFleet(event, "message_error")) {
      const code = stringField(event, "code") ?? "UNKNOWN";
      this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
    } else if (isFleet(event, "welcome")) {
      if (latency !== undefined) this.#values.connect_latency.push(latency);
      const since = client === undefined ? undefined : this.#disconnectedAt.get(client);
      if (client !== undefined && since !== undefined) {
        this.#values.reconnect_time.push(event.t - since);
        this.#disconnectedAt.delete(client);
      }
    } else if (isFleet(event, "disconnect") && client !== undefined && (event as unknown as { expected?: unknown }).expected !== true) {
      this.#disconnectedAt.set(client, event.t);
    }
  }

  /** The values of a latency or time metric, in ms, in recorded order. */
  values(metric: Exclude<ThresholdMetric, "error_rate">): readonly number[] {
    return this.#values[metric];
  }

  /** Ack latencies of the routes the gateway confirmed in full (no `"partial":true`), in ms, in recorded order. */
  confirmedAckLatencies(): readonly number[] {
    return this.#confirmedAcks;
  }

  /** Message errors (of one code, or all) and messages sent. */
  errors(code?: string): { errors: number; sent: number } {
    const errors = code === undefined ? [...this.#errors.values()].reduce((a, b) => a + b, 0) : (this.#errors.get(code) ?? 0);
    return { errors, sent: this.#sent };
  }
}
