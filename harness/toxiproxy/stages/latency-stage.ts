import { DelayQueueStage } from "../toxic-stage.js";

/**
 * Each chunk leaves `latency ± jitter` ms after it was read, in order. Chunks wait side by side, so the delay does
 * not reduce throughput.
 */
export class LatencyStage extends DelayQueueStage {
  protected onWrite(data: Buffer, ts: number): void {
    const { latency = 0, jitter = 0 } = this.spec.attributes;
    const delay = latency + (jitter > 0 ? Math.floor(this.ctx.random() * jitter * 2) - jitter : 0);
    if (delay <= 0 && this.queue.length === 0) {
      this.next.write(data, ts);
      return;
    }
    this.ctx.hold(data.length);
    this.queue.push({ data, ts: ts + Math.max(0, delay), due: ts + delay });
    if (!this.timerPending) this.drain();
  }
}
