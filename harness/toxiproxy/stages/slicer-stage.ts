import type { RandomSource } from "../random.js";
import { now, DelayQueueStage } from "../toxic-stage.js";

/**
 * Splits each chunk into pieces of about `average_size ± size_variation` bytes, `delay` µs apart, keeping bytes
 * and order.
 */
export class SlicerStage extends DelayQueueStage {
  #nextAt = 0;

  protected onWrite(data: Buffer, ts: number): void {
    const { average_size: average = 1, size_variation: variation = 0, delay = 0 } = this.spec.attributes;
    const cuts = sliceOffsets(data.length, average, variation, this.ctx.random);
    const delayMs = delay / 1000;
    if (delayMs === 0 && this.queue.length === 0) {
      for (let i = 1; i < cuts.length; i++) this.next.write(data.subarray(cuts[i - 1]!, cuts[i]!), ts);
      return;
    }
    this.ctx.hold(data.length);
    let at = Math.max(now(), this.#nextAt);
    for (let i = 1; i < cuts.length; i++) {
      this.queue.push({ data: data.subarray(cuts[i - 1]!, cuts[i]!), ts, due: at });
      at += delayMs;
    }
    this.#nextAt = at;
    if (!this.timerPending) this.drain();
  }
}

/**
 * Cut offsets (including 0 and `length`) of the real server's slicer: halve recursively, moving the middle by up
 * to `variation`, until a piece is within `average + variation` bytes.
 */
export function sliceOffsets(length: number, average: number, variation: number, random: RandomSource): number[] {
  const cuts = [0];
  const stack: Array<[number, number]> = [[0, length]];
  // Iterative depth-first split, left half first, so offsets come out in order.
  while (stack.length > 0) {
    const [start, end] = stack.pop()!;
    if (end - start - average <= variation) {
      if (end > start) cuts.push(end);
      continue;
    }
    let mid = start + Math.floor((end - start) / 2);
    if (variation > 0) mid += Math.floor(random() * variation * 2) - variation;
    mid = Math.min(end - 1, Math.max(start + 1, mid));
    stack.push([mid, end], [start, mid]);
  }
  return cuts;
}
