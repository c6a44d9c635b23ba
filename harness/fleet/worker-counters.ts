/**
 * The counters and latency histograms of one fleet worker, and the {@link WorkerStats} report built from them.
 * Plain fields, bumped on the worker's hot path (every welcome, ack and delivery).
 */
import { LatencyHistogram } from "../common/histogram.js";
import { HISTOGRAM_INTERVAL_MS, type WorkerStats } from "./fleet-ipc.js";

/** What one worker has counted so far. */
export class WorkerCounters {
  connected = 0;
  welcomes = 0;
  disconnects = 0;
  connectErrors = 0;
  sent = 0;
  acked = 0;
  received = 0;
  receivedOther = 0;
  errors = 0;
  delivered = 0;
  readonly #byInstance = new Map<string, number>();
  readonly #byTarget = new Map<string, number>();
  readonly #connect = new LatencyHistogram();
  readonly #ack = new LatencyHistogram();
  readonly #delivery = new LatencyHistogram();
  #histogramsDirty = false;
  #lastHistogramAt = 0;

  /** A client was welcomed on `instanceId` through `target` after `latencyMs` (upgrade start -> welcome). */
  welcomed(instanceId: string, target: string, latencyMs: number): void {
    this.welcomes++;
    this.connected++;
    bump(this.#byInstance, instanceId, 1);
    bump(this.#byTarget, target, 1);
    this.#connect.recordMs(latencyMs);
    this.#histogramsDirty = true;
  }

  /** A client left its open socket (closed, or moving after a drain notice). */
  leftOpen(instanceId: string, target: string): void {
    this.connected--;
    this.disconnects++;
    bump(this.#byInstance, instanceId, -1);
    bump(this.#byTarget, target, -1);
  }

  /** Records a route's send -> ack latency, ms. */
  recordAck(latencyMs: number): void {
    this.#ack.recordMs(latencyMs);
    this.#histogramsDirty = true;
  }

  /** Records a route's send -> delivery latency, ms. */
  recordDelivery(latencyMs: number): void {
    this.#delivery.recordMs(latencyMs);
    this.#histogramsDirty = true;
  }

  /**
   * The report to the parent. Histograms are encoded when `withHistograms`, or when they changed and the last
   * encoding is at least {@link HISTOGRAM_INTERVAL_MS} old (encoding costs more than the rest of the report).
   */
  report(gauges: { reconnecting: number; pending: number; rateSeq: number }, withHistograms: boolean): WorkerStats {
    const stats: WorkerStats = {
      connected: this.connected,
      byInstance: Object.fromEntries([...this.#byInstance].filter(([, n]) => n > 0)),
      byTarget: Object.fromEntries([...this.#byTarget].filter(([, n]) => n > 0)),
      reconnecting: gauges.reconnecting,
      pending: gauges.pending,
      welcomes: this.welcomes,
      disconnects: this.disconnects,
      connectErrors: this.connectErrors,
      sent: this.sent,
      acked: this.acked,
      received: this.received,
      receivedOther: this.receivedOther,
      errors: this.errors,
      delivered: this.delivered,
      rateSeq: gauges.rateSeq,
    };
    const now = performance.now();
    if (withHistograms || (this.#histogramsDirty && now - this.#lastHistogramAt >= HISTOGRAM_INTERVAL_MS)) {
      stats.histograms = { connect: this.#connect.encode(), ack: this.#ack.encode(), delivery: this.#delivery.encode() };
      this.#histogramsDirty = false;
      this.#lastHistogramAt = now;
    }
    try {
      stats.rss = process.memoryUsage.rss();
    } catch {
      // At the open-files limit even this read fails; the counters still matter.
    }
    return stats;
  }
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  map.set(key, (map.get(key) ?? 0) + delta);
}
