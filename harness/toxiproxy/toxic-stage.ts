/**
 * The stage a toxic runs on a link. A stage receives chunks (with the time they were read) and an end-of-stream,
 * and hands them on to the next stage in order. Stages are plain objects linked by `next`, so adding, updating or
 * removing one on a live link is a synchronous rewiring that never waits for data or timers. Each toxic's stage is
 * in stages/, and toxics.ts creates them.
 */
import type { RandomSource } from "./random.js";
import type { ToxicSpec } from "./toxic-spec.js";

/** Where a stage hands on data: the next stage or the link's output socket. */
export interface ChunkSink {
  /** Takes a chunk read at `ts` (performance.now() milliseconds, advanced by latency stages). */
  write(data: Buffer, ts: number): void;
  /** End of stream: nothing follows. */
  end(): void;
}

/** What a stage may ask of its link. */
export interface StageContext {
  readonly random: RandomSource;
  /** `bytes` more are now held inside a stage (for backpressure on the source). */
  hold(bytes: number): void;
  /** `bytes` held inside a stage have been handed on or dropped. */
  release(bytes: number): void;
  /** Ends the connection with a TCP RST on both sockets. */
  reset(): void;
}

/** The stages' clock: performance.now() milliseconds. */
export const now = (): number => performance.now();

/** Base of every stage: toxicity draw, pass-through when inactive, one timer. */
export abstract class ToxicStage implements ChunkSink {
  next: ChunkSink;
  spec: ToxicSpec;
  protected readonly ctx: StageContext;
  /** Whether the toxicity draw made this toxic act on this link. */
  active: boolean;
  #timer: NodeJS.Timeout | undefined;
  #disposed = false;

  constructor(spec: ToxicSpec, ctx: StageContext, next: ChunkSink) {
    this.spec = spec;
    this.ctx = ctx;
    this.next = next;
    this.active = ctx.random() < spec.toxicity;
  }

  write(data: Buffer, ts: number): void {
    if (this.active) this.onWrite(data, ts);
    else this.next.write(data, ts);
  }

  end(): void {
    if (this.active) this.onEnd();
    else this.next.end();
  }

  /** Applies new attributes or toxicity; toxicity is drawn again, as the real server restarts the stage. */
  update(spec: ToxicSpec): void {
    const wasActive = this.active;
    this.spec = spec;
    this.active = this.ctx.random() < spec.toxicity;
    if (wasActive && !this.active) this.flush();
    else if (this.active) this.onUpdate(wasActive);
  }

  /** Called when the toxic is removed from a live link: hand on everything held, in order, at once. */
  remove(): void {
    this.flush();
  }

  /** Clears timers and refuses new ones; the connection is gone. */
  dispose(): void {
    this.#disposed = true;
    this.clearTimer();
  }

  protected abstract onWrite(data: Buffer, ts: number): void;
  protected onEnd(): void {
    this.next.end();
  }
  protected onUpdate(_wasActive: boolean): void {}
  /** Hands on held data (and a held end) to `next` synchronously and clears timers. */
  protected flush(): void {
    this.clearTimer();
  }

  protected setTimer(delayMs: number, fn: () => void): void {
    this.clearTimer();
    if (this.#disposed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, Math.max(0, Math.ceil(delayMs)));
  }

  protected clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  protected get timerPending(): boolean {
    return this.#timer !== undefined;
  }
}

/** A first-in first-out queue without `Array.shift()` costs. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  peek(): T | undefined {
    return this.#items[this.#head];
  }
  shift(): T | undefined {
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/** A queued chunk; `data === null` marks the end of stream. */
export interface Queued {
  data: Buffer | null;
  ts: number;
  /** When the item may leave the stage (performance.now() ms). */
  due: number;
}

/**
 * Holds chunks in order until each one's `due` time (the end-of-stream marker is due at once when reached), then
 * passes them on; removing or updating the toxic flushes what is held. Subclasses decide each chunk's `due`.
 */
export abstract class DelayQueueStage extends ToxicStage {
  protected readonly queue = new Fifo<Queued>();

  protected override onEnd(): void {
    if (this.queue.length === 0) this.next.end();
    else this.queue.push({ data: null, ts: 0, due: 0 });
  }

  protected drain(): void {
    const t = now();
    for (let item = this.queue.peek(); item; item = this.queue.peek()) {
      // Timers fire on whole milliseconds of the loop clock; half a millisecond of slack avoids re-arming for µs.
      if (item.due > t + 0.5) {
        this.setTimer(item.due - t, () => this.drain());
        return;
      }
      this.queue.shift();
      this.#emit(item);
    }
  }

  #emit(item: Queued): void {
    if (item.data === null) {
      this.next.end();
      return;
    }
    this.ctx.release(item.data.length);
    this.next.write(item.data, item.ts);
  }

  protected override flush(): void {
    this.clearTimer();
    for (let item = this.queue.shift(); item; item = this.queue.shift()) this.#emit(item);
  }
}
