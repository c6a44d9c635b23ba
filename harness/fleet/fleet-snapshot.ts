/**
 * What a running fleet reports: the live snapshot, merged from the workers' counters, and the final summary.
 */
import type { LatencySummary } from "../common/histogram.js";
import type { WorkerStats } from "./fleet-ipc.js";

/** Counters of routed messages. */
export interface FleetMessageCounts {
  sent: number;
  acked: number;
  /** The fleet's own routes received by its clients. */
  received: number;
  /** Other messages its clients received (a probe's or an HTTP flood's routes); not in `received`. */
  receivedOther: number;
  errors: number;
  /** Sum of `delivered` over all acks. */
  delivered: number;
}

/** Live view of the fleet, refreshed from the workers every `STATS_INTERVAL_MS` (fleet-ipc.ts). */
export interface FleetSnapshot {
  /** Epoch ms of the snapshot. */
  t: number;
  /** Clients with a welcomed socket. */
  connected: number;
  /** Connected clients per `instance_id` (from the welcomes). */
  byInstance: Record<string, number>;
  /** Connected clients per target base URL. */
  byTarget: Record<string, number>;
  /** Clients waiting for or attempting a reconnect (they had been connected before). */
  reconnecting: number;
  /** Clients that never got a welcome yet (ramp not reached them, or first attempts failing). */
  pending: number;
  /** Total welcomes, disconnects and connect errors so far. */
  welcomes: number;
  disconnects: number;
  connectErrors: number;
  messages: FleetMessageCounts;
  latency: FleetLatency;
  /** Worker processes alive. */
  workersAlive: number;
}

/** Latency percentiles (ms) from the workers' HDR histograms. */
export interface FleetLatency {
  /** Upgrade start -> welcome. */
  connect: LatencySummary;
  /** Route sent -> ack. */
  ack: LatencySummary;
  /** Route sent -> received by a peer. */
  delivery: LatencySummary;
}

/** A worker that ended other than through `stop()`. */
export interface FleetWorkerExit {
  worker: number;
  pid: number;
  code: number | null;
  signal: string | null;
}

/** What `stop()` returns: final totals, latency percentiles and the encoded HDR histograms. */
export interface FleetSummary extends FleetSnapshot {
  /** Clients the fleet was configured with. */
  clients: number;
  seed: number;
  /** Wall time from start() to stop() in ms. */
  durationMs: number;
  /** Compressed base64 HDR histograms (microseconds) for further merging: connect, ack, delivery. */
  histograms: { connect: string; ack: string; delivery: string };
  /** Workers that crashed or exited on their own during the run (empty on a clean run). */
  workerExits: FleetWorkerExit[];
  /** Process ids of the workers (all exited once `stop()` resolves). */
  workerPids: number[];
}

/** A snapshot with every counter at zero, taken at epoch ms `t`. */
export function emptySnapshot(t: number, latency: FleetLatency): FleetSnapshot {
  return {
    t,
    connected: 0,
    byInstance: {},
    byTarget: {},
    reconnecting: 0,
    pending: 0,
    welcomes: 0,
    disconnects: 0,
    connectErrors: 0,
    messages: { sent: 0, acked: 0, received: 0, receivedOther: 0, errors: 0, delivered: 0 },
    latency,
    workersAlive: 0,
  };
}

/**
 * Adds one worker's counters to `snapshot`. Totals always count; the gauges (connected, reconnecting, pending, per
 * instance and target) only when `holdsSockets`: a dead worker's sockets are gone with it.
 */
export function addWorkerStats(snapshot: FleetSnapshot, s: WorkerStats, holdsSockets: boolean): void {
  snapshot.welcomes += s.welcomes;
  snapshot.disconnects += s.disconnects;
  snapshot.connectErrors += s.connectErrors;
  snapshot.messages.sent += s.sent;
  snapshot.messages.acked += s.acked;
  snapshot.messages.received += s.received;
  snapshot.messages.receivedOther += s.receivedOther;
  snapshot.messages.errors += s.errors;
  snapshot.messages.delivered += s.delivered;
  if (!holdsSockets) return;
  snapshot.connected += s.connected;
  snapshot.reconnecting += s.reconnecting;
  snapshot.pending += s.pending;
  for (const [key, n] of Object.entries(s.byInstance)) snapshot.byInstance[key] = (snapshot.byInstance[key] ?? 0) + n;
  for (const [key, n] of Object.entries(s.byTarget)) snapshot.byTarget[key] = (snapshot.byTarget[key] ?? 0) + n;
}
