import { ToxicStage } from "../toxic-stage.js";

/** Passes everything through. */
export class NoopStage extends ToxicStage {
  protected onWrite(data: Buffer, ts: number): void {
    this.next.write(data, ts);
  }
}
