import { join } from "node:path";
import type { Logger } from "../common/logger.js";
import { HarnessError } from "../errors.js";
import type { Reporter } from "../report/reporter.js";
import type { RunResult, RunStatus } from "../report/run-result.js";

/** Hooks of {@link Reporter} called during a run (`onRunEnd` is {@link ReporterHub.finish}). */
export type ReporterHook = Exclude<keyof Reporter, "name" | "onRunEnd">;

/**
 * The run's reporters behind one call: each hook is awaited on every reporter in turn, and a reporter that fails
 * is logged, never allowed to fail the run; only a run.json that cannot be written is an error.
 */
export class ReporterHub {
  readonly #reporters: readonly Reporter[];
  readonly #log: Logger;
  readonly #reportDir: string;

  constructor(reporters: readonly Reporter[], reportDir: string, log: Logger) {
    this.#reporters = reporters;
    this.#reportDir = reportDir;
    this.#log = log;
  }

  /** Calls `hook` on every reporter that has it. */
  async emit<H extends ReporterHook>(hook: H, ...args: Parameters<NonNullable<Reporter[H]>>): Promise<void> {
    for (const reporter of this.#reporters) {
      const fn = reporter[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) continue;
      try {
        await fn.apply(reporter, args);
      } catch (caught) {
        this.#log("reporter failed", { reporter: reporter.name, hook, error: String(caught) });
      }
    }
  }

  /**
   * Hands the finished result to every reporter and returns the files they wrote. Rejects with
   * `HARNESS_ERR_INVALID_STATE` when run.json (the `json` reporter) cannot be written.
   */
  async finish(result: RunResult, status: RunStatus): Promise<string[]> {
    const files: string[] = [];
    for (const reporter of this.#reporters) {
      try {
        const written = await reporter.onRunEnd?.(result, status);
        if (Array.isArray(written)) files.push(...written);
      } catch (caught) {
        this.#log("reporter failed", { reporter: reporter.name, error: String(caught) });
        if (reporter.name === "json") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot write ${join(this.#reportDir, "run.json")}: ${(caught as Error).message}`, { cause: caught });
      }
    }
    return files;
  }
}
