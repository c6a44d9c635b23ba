import { now, ToxicStage, Fifo, type Queued } from "../toxic-stage.js";

/**
 * Limits the link to `rate` KB/s (KB = 1000 bytes): each piece of at most `rate * 100` bytes leaves `len / rate` ms
 * after the previous one (or after it arrived, if the link was idle).
 */
export class BandwidthStage extends ToxicStage {
  readonly #queue = new Fifo<Queued>();
  #busyUntil = 0;

  protected onWrite(data: Buffer, ts: number): void {
    this.ctx.hold(data.length);
    this.#queue.push({ data, ts, due: now() });
    if (!this.timerPending) this.#drain();
  }

  protected override onEnd(): void {
    this.#queue.push({ data: null, ts: 0, due: now() });
    if (!this.timerPending) this.#drain();
  }

  #drain(): void {
    const rate = this.spec.attributes.rate!;
    const maxPiece = rate * 100;
    for (let item = this.#queue.peek(); item; item = this.#queue.peek()) {
      if (item.data === null) {
        this.#queue.shift();
        this.next.end();
        return;
      }
      const pieceLength = Math.min(item.data.length, maxPiece);
      const due = Math.max(this.#busyUntil, item.due) + pieceLength / rate;
      const t = now();
      if (due > t + 0.5) {
        this.setTimer(due - t, () => this.#drain());
        return;
      }
      this.#busyUntil = due;
      const piece = item.data.subarray(0, pieceLength);
      if (pieceLength === item.data.length) this.#queue.shift();
      else item.data = item.data.subarray(pieceLength);
      this.ctx.release(pieceLength);
      this.next.write(piece, item.ts);
    }
  }

  protected override onUpdate(): void {
    this.clearTimer();
    this.#drain();
  }

  protected override flush(): void {
    this.clearTimer();
    for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
      if (item.data === null) this.next.end();
      else {
        this.ctx.release(item.data.length);
        this.next.write(item.data, item.ts);
      }
    }
  }
}
