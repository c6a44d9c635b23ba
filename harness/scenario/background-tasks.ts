/**
 * Faults and loads a scenario runs in the background (`{ background: true }`): the steps add them, `awaitBackground`
 * and the end of the steps wait for them, and teardown waits for whatever is left after aborting them.
 */
export class BackgroundTasks {
  readonly #tasks: Promise<unknown>[] = [];
  /** Harness errors of background loads, thrown once the background has been awaited. */
  readonly #errors: unknown[] = [];

  /** Adds a running task; its rejection is the task's own business (the task records or reports it). */
  add(task: Promise<unknown>): void {
    this.#tasks.push(task);
  }

  /** Records a harness error of a background task: {@link awaitAll} throws the first one. */
  fail(error: unknown): void {
    this.#errors.push(error);
  }

  /** Waits for every task started so far; then throws the first harness error a task reported, if any. */
  async awaitAll(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
    if (this.#errors.length > 0) throw this.#errors[0];
  }

  /** Waits for every task to settle, whatever its outcome (teardown). */
  settle(): Promise<unknown> {
    return Promise.allSettled(this.#tasks);
  }
}
