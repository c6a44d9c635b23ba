/**
 * Series the fleet's events give per time window: latency percentiles of each window (not cumulative, so a
 * fault's effect shows where it happens), errors by code, and individual route latencies for a scatter.
 * The samples carry only percentiles cumulative since the fleet started; the events carry each latency.
 */
import type { RunEvent } from "../run-result.js";
import type { ErrorsByCode, LatencyKind, RouteScatter, WindowedLatency } from "./page-digest.js";
import { eventNumber, eventSource, eventText, eventTime, eventType } from "./run-model.js";

export type { ErrorsByCode, LatencyKind, RouteScatter, WindowedLatency } from "./page-digest.js";

/** Width of one window of the per-window series. */
export const WINDOW_MS = 1_000;
/** Individual route latencies drawn at most in the scatter; above, a stride sample plus every slow one. */
export const SCATTER_POINT_LIMIT = 20_000;

const LATENCY_EVENT: Record<LatencyKind, string> = { ack: "message_acked", connect: "welcome", delivery: "message_received" };

/** The nearest-rank percentile `p` (0..100) of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Windows 0..n-1 covering [t0, t1]. */
function windowCount(t0: number, t1: number): number {
  return Math.max(1, Math.ceil((t1 - t0) / WINDOW_MS));
}

/** The fleet event type whose `latency_ms` a latency series of `kind` reads. */
export function latencyEventType(kind: LatencyKind): string {
  return LATENCY_EVENT[kind];
}

/** Latency percentiles of each window of `WINDOW_MS` from the fleet's events of one kind. */
export function windowedLatency(events: readonly RunEvent[], kind: LatencyKind, t0: number, t1: number): WindowedLatency {
  const times: number[] = [];
  const values: number[] = [];
  const type = LATENCY_EVENT[kind];
  for (const e of events) {
    if (eventType(e) !== type || eventSource(e) !== "fleet") continue;
    const t = eventTime(e);
    const latency = eventNumber(e, "latency_ms");
    if (t === null || latency === null) continue;
    times.push(t);
    values.push(latency);
  }
  return windowedPoints(times, values, t0, t1);
}

/** Percentiles of each window from parallel lists of times (epoch ms) and latencies (the report's stream uses it too). */
export function windowedPoints(times: ArrayLike<number>, latencies: ArrayLike<number>, t0: number, t1: number): WindowedLatency {
  const n = windowCount(t0, t1);
  const buckets: number[][] = Array.from({ length: n }, () => []);
  for (let k = 0; k < times.length; k++) {
    const i = Math.floor((times[k]! - t0) / WINDOW_MS);
    if (i >= 0 && i < n) buckets[i]!.push(latencies[k]!);
  }
  const out: WindowedLatency = { x: [], count: [], p50: [], p95: [], p99: [], max: [] };
  buckets.forEach((values, i) => {
    values.sort((a, b) => a - b);
    const some = values.length > 0;
    out.x.push(((i + 0.5) * WINDOW_MS) / 1_000);
    out.count.push(values.length);
    out.p50.push(some ? percentile(values, 50) : null);
    out.p95.push(some ? percentile(values, 95) : null);
    out.p99.push(some ? percentile(values, 99) : null);
    out.max.push(some ? values.at(-1)! : null);
  });
  return out;
}

/** What an error event counts as: route errors by the gateway's code, connect errors by reason, status or close code. */
export function errorCode(e: RunEvent): string | null {
  if (eventSource(e) !== "fleet") return null;
  if (eventType(e) === "message_error") return `route ${eventText(e, "code") || "?"}`;
  if (eventType(e) === "connect_error") {
    const status = eventNumber(e, "status");
    const close = eventNumber(e, "close_code");
    return `connect ${eventText(e, "reason") || (status !== null ? `HTTP ${status}` : close !== null ? `close ${close}` : "?")}`;
  }
  return null;
}

/** Route and connect errors of each window, by code. */
export function errorsByCode(events: readonly RunEvent[], t0: number, t1: number): ErrorsByCode {
  const counter = new ErrorCounter(t0, t1);
  for (const e of events) counter.add(e);
  return counter.result();
}

/** Counts error events per window and code one at a time (the report's stream of the event log uses it too). */
export class ErrorCounter {
  readonly #rows = new Map<string, number[]>();
  readonly #n: number;
  readonly #t0: number;

  constructor(t0: number, t1: number) {
    this.#t0 = t0;
    this.#n = windowCount(t0, t1);
  }

  add(e: RunEvent): void {
    const code = errorCode(e);
    const t = eventTime(e);
    if (code === null || t === null) return;
    const i = Math.floor((t - this.#t0) / WINDOW_MS);
    if (i < 0 || i >= this.#n) return;
    let row = this.#rows.get(code);
    if (!row) this.#rows.set(code, (row = new Array<number>(this.#n).fill(0)));
    row[i]!++;
  }

  result(): ErrorsByCode {
    const codes = [...this.#rows.keys()].sort();
    return { x: Array.from({ length: this.#n }, (_, i) => ((i + 0.5) * WINDOW_MS) / 1_000), codes, counts: codes.map((c) => this.#rows.get(c)!) };
  }
}

/**
 * Every route's ack latency at the time of its ack. Above `limit` points, a regular stride of them plus every one
 * above the run's p99, so the slow outliers a fault causes are never sampled away.
 */
export function routeScatter(events: readonly RunEvent[], t0: number, limit = SCATTER_POINT_LIMIT): RouteScatter {
  const times: number[] = [];
  const latencies: number[] = [];
  for (const e of events) {
    if (eventType(e) !== "message_acked" || eventSource(e) !== "fleet") continue;
    const t = eventTime(e);
    const latency = eventNumber(e, "latency_ms");
    if (t === null || latency === null) continue;
    times.push(t);
    latencies.push(latency);
  }
  return scatterPoints(times, latencies, t0, limit);
}

/** {@link routeScatter} from parallel lists of ack times (epoch ms) and latencies. */
export function scatterPoints(times: ArrayLike<number>, latencies: ArrayLike<number>, t0: number, limit = SCATTER_POINT_LIMIT): RouteScatter {
  const total = times.length;
  let slow = Infinity;
  let stride = 1;
  if (total > limit) {
    slow = percentile(Float64Array.from(latencies).sort(), 99);
    stride = Math.ceil(total / limit);
  }
  const kept: [number, number][] = [];
  for (let i = 0; i < total; i++) if (i % stride === 0 || latencies[i]! > slow) kept.push([(times[i]! - t0) / 1_000, latencies[i]!]);
  kept.sort((a, b) => a[0] - b[0]);
  return { x: kept.map((p) => p[0]), y: kept.map((p) => p[1]), total };
}
