import { ToxicStage } from "../toxic-stage.js";

/** Data passes; the end of stream is held back by `delay` ms. */
export class SlowCloseStage extends ToxicStage {
  #endPending = false;

  protected onWrite(data: Buffer, ts: number): void {
    this.next.write(data, ts);
  }

  protected override onEnd(): void {
    this.#endPending = true;
    this.setTimer(this.spec.attributes.delay!, () => {
      this.#endPending = false;
      this.next.end();
    });
  }

  protected override flush(): void {
    this.clearTimer();
    if (this.#endPending) {
      this.#endPending = false;
      this.next.end();
    }
  }
}
