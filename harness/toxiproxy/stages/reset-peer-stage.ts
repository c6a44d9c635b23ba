import { ToxicStage } from "../toxic-stage.js";

/**
 * On the first chunk or end of stream, drops it, waits `timeout` ms, then resets the connection (TCP RST on both
 * sockets). Once triggered, the reset happens even if the toxic is removed meanwhile, as in the real server.
 */
export class ResetPeerStage extends ToxicStage {
  #triggered = false;

  protected onWrite(): void {
    this.#trigger();
  }

  protected override onEnd(): void {
    this.#trigger();
  }

  #trigger(): void {
    if (this.#triggered) return;
    this.#triggered = true;
    const timeout = this.spec.attributes.timeout!;
    if (timeout <= 0) this.ctx.reset();
    else this.setTimer(timeout, () => this.ctx.reset());
  }

  override remove(): void {
    // A triggered reset still fires (its timer is cleared by dispose() when the connection closes).
  }

  protected override flush(): void {
    // Nothing is held: data after the trigger is dropped on purpose.
  }
}
