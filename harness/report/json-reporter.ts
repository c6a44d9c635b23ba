import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Reporter } from "./reporter.js";
import type { RunResult } from "./run-result.js";

/** Writes `run.json`, the whole record, into the run's directory. Runs first: the other files render from it. */
export class JsonReporter implements Reporter {
  readonly name = "json";
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async onRunEnd(result: RunResult): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, "run.json");
    await writeFile(file, `${JSON.stringify(result)}\n`);
    return [file];
  }
}
