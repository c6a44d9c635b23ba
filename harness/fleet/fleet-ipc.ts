/** @internal Messages between the fleet parent and its worker processes (IPC, JSON serialised). */
import type { FleetEvent } from "./fleet-events.js";
import type { ResolvedClientFleetOptions } from "./fleet-plan.js";

/** Parent -> worker. */
export type ParentMessage =
  | { type: "init"; worker: number; options: ResolvedClientFleetOptions; events: boolean; startAt?: number }
  | { type: "start" }
  | { type: "set_rate"; perSecond: number; seq: number }
  | { type: "set_targets"; targets: string[] }
  | { type: "set_ramp_limit"; count: number }
  | { type: "stop" };

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
  | { type: "fatal"; message: string; stack?: string };
