/** A write waiting for its group, with the callbacks of its caller's promise. */
interface QueuedWrite {
  work: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of registry writes (registrations of upgrades, removals on close): while a group is in flight, new
 * writes wait and then start together in one tick, so the registry batches them into one script call and ioredis
 * sends them in one syscall. Under light load a write starts at the end of the current event-loop turn; under
 * heavy load groups grow with it, which keeps the Redis and gateway CPU per connect low.
 */
export class WriteBatcher {
  #queue: QueuedWrite[] = [];
  #inFlight = 0;
  #scheduled = false;
  // Allocated once: a write on every connect and close goes through here.
  readonly #startScheduledGroup = () => {
    this.#scheduled = false;
    this.#startGroup();
  };
  readonly #settled = () => {
    if (--this.#inFlight === 0 && this.#queue.length > 0) this.#startGroup();
  };

  /** Writes of the current group still running. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Writes waiting for the current group to finish. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Runs `work` with the next group; settles as `work` does (a synchronous throw becomes a rejection). */
  run<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.#inFlight === 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#startScheduledGroup);
      }
    });
  }

  #startGroup(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#inFlight += queue.length;
    for (const write of queue) {
      let pending: Promise<unknown>;
      try {
        pending = write.work();
      } catch (error) {
        pending = Promise.reject(error);
      }
      // The caller's promise settles first, so the next group starts after its continuation was queued.
      pending.then(
        (value) => {
          write.resolve(value);
          this.#settled();
        },
        (error: unknown) => {
          write.reject(error);
          this.#settled();
        },
      );
    }
  }
}
