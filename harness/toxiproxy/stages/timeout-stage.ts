import type { ToxicSpec } from "../toxic-spec.js";
import { ToxicStage, type ChunkSink, type StageContext } from "../toxic-stage.js";

/**
 * Drops all data. With `timeout > 0` the stream ends after `timeout` ms without data (the timer restarts on each
 * dropped chunk); with 0 it never ends by itself. Removing it ends the stream, since dropped bytes would otherwise
 * corrupt what follows.
 */
export class TimeoutStage extends ToxicStage {
  #closed = false;

  constructor(spec: ToxicSpec, ctx: StageContext, next: ChunkSink) {
    super(spec, ctx, next);
    if (this.active) this.#arm();
  }

  protected onWrite(): void {
    if (!this.#closed) this.#arm();
  }

  protected override onEnd(): void {
    this.#close();
  }

  protected override onUpdate(): void {
    this.#arm();
  }

  override remove(): void {
    this.#close();
  }

  #arm(): void {
    const timeout = this.spec.attributes.timeout!;
    if (timeout > 0) this.setTimer(timeout, () => this.#close());
    else this.clearTimer();
  }

  #close(): void {
    this.clearTimer();
    if (this.#closed) return;
    this.#closed = true;
    this.next.end();
  }
}
