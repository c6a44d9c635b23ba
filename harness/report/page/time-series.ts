/**
 * Series the fleet's events give per time window: latency percentiles of each window (not cumulative, so a
 * fault's effect shows where it happens), errors by code, and individual route latencies for a scatter.
 * The samples carry only percentiles cumulative since the fleet started; the events carry each latency.
 */
import type { RunEvent } from "../run-result.js";
import { eventNumber, eventSource, eventText, eventTime, eventType } from "./run-model.js";

/** Width of one window of the per-window series. */
export const WINDOW_MS = 1_000;
/** Individual route latencies drawn at most in the scatter; above, a stride sample plus every slow one. */
export const SCATTER_POINT_LIMIT = 20_000;

/** The fleet events whose `latency_ms` a latency series reads. */
export type LatencyKind = "ack" | "connect" | "delivery";
const LATENCY_EVENT: Record<LatencyKind, string> = { ack: "message_acked", connect: "welcome", delivery: "message_received" };

/** Per-window percentiles: `x` is each window's middle in seconds since t0; null where a window had no value. */
export interface WindowedLatency {
  x: number[];
  count: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  max: (number | null)[];
}

/** The nearest-rank percentile `p` (0..100) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Windows 0..n-1 covering [t0, t1]. */
function windowCount(t0: number, t1: number): number {
  return Math.max(1, Math.ceil((t1 - t0) / WINDOW_MS));
}

/** Latency percentiles of each window of `WINDOW_MS` from the fleet's events of one kind. */
export function windowedLatency(events: readonly RunEvent[], kind: LatencyKind, t0: number, t1: number): WindowedLatency {
  const n = windowCount(t0, t1);
  const buckets: number[][] = Array.from({ length: n }, () => []);
  const type = LATENCY_EVENT[kind];
  for (const e of events) {
    if (eventType(e) !== type || eventSource(e) !== "fleet") continue;
    const t = eventTime(e);
    const latency = eventNumber(e, "latency_ms");
    if (t === null || latency === null) continue;
    const i = Math.floor((t - t0) / WINDOW_MS);
    if (i >= 0 && i < n) buckets[i]!.push(latency);
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

/** Errors per window by code: `codes` names each row of `counts`; `x` is each window's middle. */
export interface ErrorsByCode {
  x: number[];
  codes: string[];
  counts: number[][];
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
  const n = windowCount(t0, t1);
  const rows = new Map<string, number[]>();
  for (const e of events) {
    const code = errorCode(e);
    const t = eventTime(e);
    if (code === null || t === null) continue;
    const i = Math.floor((t - t0) / WINDOW_MS);
    if (i < 0 || i >= n) continue;
    let row = rows.get(code);
    if (!row) rows.set(code, (row = new Array<number>(n).fill(0)));
    row[i]!++;
  }
  const codes = [...rows.keys()].sort();
  return { x: Array.from({ length: n }, (_, i) => ((i + 0.5) * WINDOW_MS) / 1_000), codes, counts: codes.map((c) => rows.get(c)!) };
}

/** Individual route ack latencies: x in seconds since t0, sorted by x; `total` counts them before sampling. */
export interface RouteScatter {
  x: number[];
  y: number[];
  total: number;
}

/**
 * Every route's ack latency at the time of its ack. Above `limit` points, a regular stride of them plus every one
 * above the run's p99, so the slow outliers a fault causes are never sampled away.
 */
export function routeScatter(events: readonly RunEvent[], t0: number, limit = SCATTER_POINT_LIMIT): RouteScatter {
  const points: [number, number][] = [];
  for (const e of events) {
    if (eventType(e) !== "message_acked" || eventSource(e) !== "fleet") continue;
    const t = eventTime(e);
    const latency = eventNumber(e, "latency_ms");
    if (t !== null && latency !== null) points.push([(t - t0) / 1_000, latency]);
  }
  const total = points.length;
  let kept = points;
  if (total > limit) {
    const slow = percentile(points.map((p) => p[1]).sort((a, b) => a - b), 99);
    const stride = Math.ceil(total / limit);
    kept = points.filter((p, i) => i % stride === 0 || p[1] > slow);
  }
  kept.sort((a, b) => a[0] - b[0]);
  return { x: kept.map((p) => p[0]), y: kept.map((p) => p[1]), total };
}
