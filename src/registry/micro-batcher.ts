/**
 * Collects the items pushed in one tick and hands them to `flush` in chunks of at most `maxSize`; each caller gets
 * its own item's result (or the chunk's error). A chunk that reaches `maxSize` is flushed at once (`full` = true),
 * so that Redis works on it while the caller is still producing the next one.
 */
export class MicroBatcher<I, O> {
  #queue: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];

  /**
   * @param maxSize most items per flush (1: every item alone).
   * @param flush sends one chunk; resolves with one result per item, in order.
   */
  constructor(
    readonly maxSize: number,
    readonly flush: (items: I[], full: boolean) => Promise<O[]>,
  ) {}

  /** Queues `item` for the current tick's flush; settles with its own result. */
  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#queue.length === 1) process.nextTick(() => this.#drain());
      else if (this.#queue.length >= this.maxSize) this.#drain();
    });
  }

  #drain(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    for (let i = 0; i < queue.length; i += this.maxSize) {
      const chunk = queue.slice(i, i + this.maxSize);
      let pending: Promise<O[]>;
      try {
        pending = this.flush(chunk.map((entry) => entry.item), chunk.length === this.maxSize && this.maxSize > 1);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (results) => chunk.forEach((entry, k) => entry.resolve(results[k]!)),
        (error: unknown) => chunk.forEach((entry) => entry.reject(error)),
      );
    }
  }
}
