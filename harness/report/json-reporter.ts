import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { Reporter } from "./reporter.js";
import type { RunResult } from "./run-result.js";

/** Events serialised per write of run.json: big enough to keep writes few, small enough to keep each string small. */
const EVENTS_PER_WRITE = 1_000;

/**
 * Writes `run.json`, the whole record, into the run's directory. Runs first: the other files render the record as
 * it holds it ({@link recordAsWritten}) and read the event log beside it.
 */
export class JsonReporter implements Reporter {
  readonly name = "json";
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async onRunEnd(result: RunResult): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, "run.json");
    await writeRunJson(file, result);
    return [file];
  }
}

/** The members of a run record that hold its history: the bulk of run.json. */
const BULK = ["events", "samples"] as const;

/**
 * `result` as run.json holds it, without reading run.json back: every member but the events and samples through a
 * JSON round trip (small; so NaN, infinities, undefined members and Dates read as they do from the file), the
 * events and samples as they are in memory, in the same member order. The other reporters only select and copy
 * events and samples, which JSON then writes alike; parsing 45 MB of run.json again, while the record was still
 * held, was the largest allocation of a long run's report phase.
 */
export function recordAsWritten(result: RunResult): RunResult {
  const present = BULK.filter((key) => Array.isArray(result[key]));
  const record = JSON.parse(JSON.stringify({ ...result, ...Object.fromEntries(present.map((key) => [key, []])) })) as RunResult;
  for (const key of present) (record as unknown as Record<string, unknown>)[key] = result[key];
  return record;
}

/**
 * Writes `result` to `file` as `JSON.stringify(result)` and a newline, byte for byte, with its `events` array
 * serialised {@link EVENTS_PER_WRITE} events at a time: a release run's run.json is tens of MB, and one string of
 * it (plus the stringifier's buffer and the bytes written) was the largest allocation of the report phase.
 */
export async function writeRunJson(file: string, result: RunResult): Promise<void> {
  const out = createWriteStream(file);
  // Kept for the writes after it; an error during a wait for `drain` also rejects that wait (events.once).
  let error: Error | undefined;
  out.on("error", (e) => (error ??= e));
  const write = async (chunk: string) => {
    if (error) throw error;
    if (!out.write(chunk)) await once(out, "drain");
  };
  try {
    let separator = "{";
    for (const [key, value] of Object.entries(result)) {
      if (key === "events" && Array.isArray(value)) {
        await write(`${separator}${JSON.stringify(key)}:[`);
        for (let i = 0; i < value.length; i += EVENTS_PER_WRITE) {
          const chunk = value.slice(i, i + EVENTS_PER_WRITE).map((event: unknown) => JSON.stringify(event) ?? "null");
          await write(`${i === 0 ? "" : ","}${chunk.join(",")}`);
        }
        await write("]");
      } else {
        const json = JSON.stringify(value);
        // As JSON.stringify does: a member whose value has no JSON form (undefined, a function) is left out.
        if (json === undefined) continue;
        await write(`${separator}${JSON.stringify(key)}:${json}`);
      }
      separator = ",";
    }
    await write(separator === "{" ? "{}\n" : "}\n");
  } finally {
    out.end();
    await finished(out).catch((e: Error) => (error ??= e));
  }
  if (error) throw error;
}
