/**
 * Faults and loads a scenario runs in the background (`{ background: true }`): the steps add them, `awaitBackground`
 * and the end of the steps wait for them, and teardown waits for whatever is left after aborting them.
 */
export class BackgroundTasks {
  readonly #tasks: Promise<unknown>[] = [];
  /** Harness errors of background loads, thrown once the background has been awaited. */
  readonly #errors: unknown[] = [];

  /** Background faults still running, with what ends each early, by fault kind. */
  readonly #faults = new Map<string, Set<() => void>>();

  /** Adds a running task; its rejection is the task's own business (the task records or reports it). */
  add(task: Promise<unknown>): void {
    this.#tasks.push(task);
  }

  /**
   * Adds a running background fault of `kind`; `end` heals it before its duration is out ({@link endFaults}).
   */
  addFault(kind: string, task: Promise<unknown>, end: () => void): void {
    const ends = this.#faults.get(kind) ?? new Set();
    this.#faults.set(kind, ends);
    ends.add(end);
    this.add(task.finally(() => ends.delete(end)));
  }

  /** Heals at once every background fault of `kind` still running (a probe done with it); returns how many. */
  endFaults(kind: string): number {
    const ends = [...(this.#faults.get(kind) ?? [])];
    for (const end of ends) end();
    return ends.length;
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
