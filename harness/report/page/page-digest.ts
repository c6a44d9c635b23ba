/**
 * What the report adds to run.json when it embeds the run in the page (html-reporter.ts): the per-second series
 * computed from the whole event history (events.ndjson, streamed), and how much of the history the page holds.
 * Types only, so the page and the report writer share them.
 */

/** The fleet events whose `latency_ms` a latency series reads. */
export type LatencyKind = "ack" | "connect" | "delivery";

/** Per-window percentiles: `x` is each window's middle in seconds since t0; null where a window had no value. */
export interface WindowedLatency {
  x: number[];
  count: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  max: (number | null)[];
}

/** Errors per window by code: `codes` names each row of `counts`; `x` is each window's middle. */
export interface ErrorsByCode {
  x: number[];
  codes: string[];
  counts: number[][];
}

/** Individual route ack latencies: x in seconds since t0, sorted by x; `total` counts them before sampling. */
export interface RouteScatter {
  x: number[];
  y: number[];
  total: number;
}

/** The series of the page's event charts, from every event of the run. */
export interface PageSeries {
  latency: Record<LatencyKind, WindowedLatency>;
  errors: ErrorsByCode;
  scatter: RouteScatter;
}

/** The page's digest of a run too long to embed whole. */
export interface PageDigest {
  /** Charts from the whole history; absent: the page computes them from the events it embeds. */
  series?: PageSeries;
  /** Events embedded of all of the run's events; `file` holds every one (events.ndjson). */
  events: { shown: number; total: number; file?: string };
  /** Samples embedded of the run's samples (a stride of them above the page's limit). */
  samples: { shown: number; total: number };
}
