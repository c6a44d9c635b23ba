/**
 * Toxic types: their attributes, validation, and the stage each one runs on a link. A stage receives chunks
 * (with the time they were read) and an end-of-stream, and hands them on to the next stage in order. Stages are
 * plain objects linked by `next`, so adding, updating or removing one on a live link is a synchronous rewiring
 * that never waits for data or timers.
 */
import { ApiError } from "./api-error.js";
import type { GoStruct } from "./go-json.js";
import type { RandomSource } from "./random.js";

/** The toxic types the server registers. `down` is not one: disabling the proxy is how to take it down. */
export const TOXIC_TYPES = ["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "noop"] as const;

/** One of {@link TOXIC_TYPES}. */
export type ToxicType = (typeof TOXIC_TYPES)[number];

/** Which way a toxic acts: `upstream` is client to server, `downstream` server to client. */
export type ToxicDirection = "upstream" | "downstream";

/** Integer attributes of a toxic, every attribute of its type present. */
export type ToxicAttributes = Record<string, number>;

/** A toxic as the API stores it. */
export interface ToxicSpec {
  readonly name: string;
  readonly type: ToxicType;
  /** The stream exactly as the client sent it (the real server echoes `"UPSTREAM"` as given). */
  readonly stream: string;
  readonly direction: ToxicDirection;
  /** Probability in [0, 1] that the toxic acts on a given link; not range-checked, as in the real server. */
  readonly toxicity: number;
  readonly attributes: Readonly<ToxicAttributes>;
}

/** Attribute names of each type, in the order the real server serializes them, and the Go type for messages. */
export const TOXIC_ATTRIBUTE_STRUCTS: Record<ToxicType, GoStruct> = {
  latency: { typeName: "toxics.LatencyToxic", fields: [{ name: "latency", kind: "int" }, { name: "jitter", kind: "int" }] },
  bandwidth: { typeName: "toxics.BandwidthToxic", fields: [{ name: "rate", kind: "int" }] },
  slow_close: { typeName: "toxics.SlowCloseToxic", fields: [{ name: "delay", kind: "int" }] },
  timeout: { typeName: "toxics.TimeoutToxic", fields: [{ name: "timeout", kind: "int" }] },
  reset_peer: { typeName: "toxics.ResetToxic", fields: [{ name: "timeout", kind: "int" }] },
  slicer: {
    typeName: "toxics.SlicerToxic",
    fields: [
      { name: "average_size", kind: "int" },
      { name: "size_variation", kind: "int" },
      { name: "delay", kind: "int" },
    ],
  },
  limit_data: { typeName: "toxics.LimitDataToxic", fields: [{ name: "bytes", kind: "int" }] },
  noop: { typeName: "toxics.NoopToxic", fields: [] },
};

/** True when `type` is a registered toxic type. */
export function isToxicType(type: string): type is ToxicType {
  return (TOXIC_TYPES as readonly string[]).includes(type);
}

/** Every attribute of `type` set to zero, then overlaid with `given` (only the type's own keys). */
export function completeAttributes(type: ToxicType, given: Readonly<ToxicAttributes>): ToxicAttributes {
  const out: ToxicAttributes = {};
  for (const field of TOXIC_ATTRIBUTE_STRUCTS[type].fields) out[field.name] = given[field.name] ?? 0;
  return out;
}

/**
 * Rejects attribute values on which the real server hangs, panics or misbehaves (a deliberate deviation, see the
 * README): negative values, a bandwidth rate of 0, a slicer average size of 0, a size variation above the average.
 */
export function validateAttributes(type: ToxicType, attributes: Readonly<ToxicAttributes>): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (value < 0) throw invalidAttribute(`${type}.${key} must be at least 0, got ${value}`);
  }
  if (type === "bandwidth" && attributes.rate! <= 0) {
    throw invalidAttribute(
      `bandwidth.rate must be greater than 0 KB/s, got ${attributes.rate}; to hold data with the socket open use a timeout toxic with timeout 0`,
    );
  }
  if (type === "slicer") {
    if (attributes.average_size! <= 0) throw invalidAttribute(`slicer.average_size must be greater than 0 bytes, got ${attributes.average_size}`);
    if (attributes.size_variation! > attributes.average_size!) {
      throw invalidAttribute(
        `slicer.size_variation (${attributes.size_variation}) must not exceed slicer.average_size (${attributes.average_size})`,
      );
    }
  }
}

function invalidAttribute(rule: string): ApiError {
  return new ApiError(`invalid toxic attributes: ${rule}`, 400);
}

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

const now = (): number => performance.now();

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
class Fifo<T> {
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
interface Queued {
  data: Buffer | null;
  ts: number;
  /** When the item may leave the stage (performance.now() ms). */
  due: number;
}

/** Passes everything through. */
class NoopStage extends ToxicStage {
  protected onWrite(data: Buffer, ts: number): void {
    this.next.write(data, ts);
  }
}

/**
 * Holds chunks in order until each one's `due` time (the end-of-stream marker is due at once when reached), then
 * passes them on; removing or updating the toxic flushes what is held. Subclasses decide each chunk's `due`.
 */
abstract class DelayQueueStage extends ToxicStage {
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

/**
 * Each chunk leaves `latency ± jitter` ms after it was read, in order. Chunks wait side by side, so the delay does
 * not reduce throughput.
 */
class LatencyStage extends DelayQueueStage {
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

/**
 * Limits the link to `rate` KB/s (KB = 1000 bytes): each piece of at most `rate * 100` bytes leaves `len / rate` ms
 * after the previous one (or after it arrived, if the link was idle).
 */
class BandwidthStage extends ToxicStage {
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

/** Data passes; the end of stream is held back by `delay` ms. */
class SlowCloseStage extends ToxicStage {
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

/**
 * Drops all data. With `timeout > 0` the stream ends after `timeout` ms without data (the timer restarts on each
 * dropped chunk); with 0 it never ends by itself. Removing it ends the stream, since dropped bytes would otherwise
 * corrupt what follows.
 */
class TimeoutStage extends ToxicStage {
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

/**
 * On the first chunk or end of stream, drops it, waits `timeout` ms, then resets the connection (TCP RST on both
 * sockets). Once triggered, the reset happens even if the toxic is removed meanwhile, as in the real server.
 */
class ResetPeerStage extends ToxicStage {
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

/**
 * Splits each chunk into pieces of about `average_size ± size_variation` bytes, `delay` µs apart, keeping bytes
 * and order.
 */
class SlicerStage extends DelayQueueStage {
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

/**
 * Passes at most `bytes` bytes per link (the counter lives as long as the toxic on that link), cuts the chunk that
 * crosses the limit, then ends the stream.
 */
class LimitDataStage extends ToxicStage {
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

const STAGES: Record<ToxicType, new (spec: ToxicSpec, ctx: StageContext, next: ChunkSink) => ToxicStage> = {
  latency: LatencyStage,
  bandwidth: BandwidthStage,
  slow_close: SlowCloseStage,
  timeout: TimeoutStage,
  reset_peer: ResetPeerStage,
  slicer: SlicerStage,
  limit_data: LimitDataStage,
  noop: NoopStage,
};

/** Creates the stage that runs `spec` on one link, handing its output to `next`. */
export function createStage(spec: ToxicSpec, ctx: StageContext, next: ChunkSink): ToxicStage {
  return new STAGES[spec.type](spec, ctx, next);
}
