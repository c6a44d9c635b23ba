/**
 * @internal The protocol between the fleet parent and its worker processes: the messages (IPC, JSON serialised) and
 * the cadence of the workers' reports.
 */
import type { FleetEvent } from "./fleet-events.js";
import type { ResolvedClientFleetOptions } from "./fleet-options.js";

/** How often a worker reports its counters to the parent, ms (a snapshot is at most this old). */
export const STATS_INTERVAL_MS = 200;
/** A worker encodes its histograms into a report at most this often, ms (and in its final report). */
export const HISTOGRAM_INTERVAL_MS = 1_000;
/** A worker flushes its buffered events this often, ms ... */
export const EVENT_FLUSH_INTERVAL_MS = 50;
/** ... or at once when this many are buffered. */
export const EVENT_FLUSH_COUNT = 2_000;

/** Parent -> worker. */
export type ParentMessage =
  | { type: "init"; worker: number; options: ResolvedClientFleetOptions; events: boolean; startAt?: number }
  | { type: "start" }
  | { type: "set_rate"; perSecond: number; seq: number }
  | { type: "set_targets"; targets: string[] }
  | { type: "set_ramp_limit"; count: number }
  /** `abrupt`: sockets are torn down without a close frame (`terminate()`) instead of closed with 1000. */
  | { type: "stop"; abrupt?: boolean };

/** Live counters of one worker. */
export interface WorkerStats {
  connected: number;
  byInstance: Record<string, number>;
  byTarget: Record<string, number>;
  reconnecting: number;
  pending: number;
  welcomes: number;
  disconnects: number;
  connectErrors: number;
  sent: number;
  acked: number;
  received: number;
  receivedOther: number;
  errors: number;
  delivered: number;
  /** Sequence number of the last `set_rate` this worker applied (0: none); every route it sent before is in `sent`. */
  rateSeq: number;
  /** Encoded HDR histograms; absent when unchanged since the last report. */
  histograms?: { connect: string; ack: string; delivery: string };
  /** Resident set size of the worker, bytes (absent when the process is at its file limit). */
  rss?: number;
}

/** Worker -> parent. */
export type WorkerMessage =
  | { type: "ready"; clients: number }
  | { type: "events"; events: FleetEvent[] }
  | { type: "stats"; stats: WorkerStats }
  | { type: "stopped"; stats: WorkerStats }
  | { type: "fatal"; message: string; stack?: string }
  /** The worker's event loop ran nothing for `duration_ms` from `from` (harness/recorder/loop-stalls.ts). */
  | { type: "stall"; from: number; duration_ms: number };
