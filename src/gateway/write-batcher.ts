/**
 * Group commit of registry writes (registrations of upgrades, removals on close): while a group is in flight, new
 * writes wait and then start together in one tick, so the registry batches them into one script call and ioredis
 * sends them in one syscall. Under light load a write starts at the end of the current event-loop turn; under
 * heavy load groups grow with it, which keeps the Redis and gateway CPU per connect low.
 */
export class WriteBatcher {
  #queue: Array<() => void> = [];
  #inFlight = 0;
  #scheduled = false;

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
      this.#queue.push(() => {
        let pending: Promise<T>;
        try {
          pending = work();
        } catch (error) {
          pending = Promise.reject(error);
        }
        this.#inFlight++;
        // The next group starts before this write's caller resumes, so that its batch is on its way to Redis first.
        pending.then(
          (value) => {
            this.#settle();
            resolve(value);
          },
          (error: unknown) => {
            this.#settle();
            reject(error);
          },
        );
      });
      if (this.#inFlight === 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#startGroup());
      }
    });
  }

  #settle(): void {
    if (--this.#inFlight === 0 && this.#queue.length > 0) this.#startGroup();
  }

  #startGroup(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const start of queue) start();
  }
}
