import { ToxicStage } from "../toxic-stage.js";

/**
 * Passes at most `bytes` bytes per link (the counter lives as long as the toxic on that link), cuts the chunk that
 * crosses the limit, then ends the stream.
 */
export class LimitDataStage extends ToxicStage {
  #transmitted = 0;
  #closed = false;

  protected onWrite(data: Buffer, ts: number): void {
    if (this.#closed) return;
    const remaining = Math.max(0, this.spec.attributes.bytes! - this.#transmitted);
    const out = remaining < data.length ? data.subarray(0, remaining) : data;
    if (out.length > 0) {
      this.#transmitted += out.length;
      this.next.write(out, ts);
    }
    if (this.spec.attributes.bytes! - this.#transmitted <= 0) {
      this.#closed = true;
      this.next.end();
    }
  }

  protected override onEnd(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.next.end();
  }
}
