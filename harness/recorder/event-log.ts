/**
 * The run's events on disk as they happen: `events.ndjson` beside run.json, one JSON event per line in recorded
 * order (docs/design.md "Report files"). Lines are gathered in a bounded buffer and appended with one synchronous
 * write once it holds {@link EVENT_LOG_BUFFER_BYTES}, so memory stays bounded however long the run and nothing
 * is lost when the process dies between two writes of a flushed buffer. Readers stream the file back
 * ({@link readEventLog}) instead of holding every event in one array.
 */
import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { RunEvent } from "../events/run-events.js";

/** The file name of the event log in a run's report directory. */
export const EVENT_LOG_FILE = "events.ndjson";

/**
 * Bytes of serialised events buffered before a write. 1 MiB is a few thousand events: one write of it takes about
 * a millisecond, and a fleet flushing tens of thousands of events a second costs a few writes a second.
 */
export const EVENT_LOG_BUFFER_BYTES = 1 << 20;

/** Appends events to an NDJSON file through a bounded buffer. */
export class EventLog {
  /** Absolute path of the file. */
  readonly path: string;
  #fd: number | undefined;
  #chunks: string[] = [];
  #buffered = 0;
  #written = 0;
  #lines = 0;

  /** Creates (truncates) the file; its directory is made if missing. */
  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, "w");
  }

  /** Events appended so far. */
  get count(): number {
    return this.#lines;
  }

  /** Bytes written to the file so far (after {@link flush}, every byte appended). */
  get bytes(): number {
    return this.#written + this.#buffered;
  }

  /** Appends one event (written once the buffer is full, or on {@link flush}). Ignored once closed. */
  append(event: RunEvent): void {
    if (this.#fd === undefined) return;
    const line = `${JSON.stringify(event)}\n`;
    this.#chunks.push(line);
    this.#buffered += line.length;
    this.#lines++;
    if (this.#buffered >= EVENT_LOG_BUFFER_BYTES) this.flush();
  }

  /** Writes the buffered events to the file. */
  flush(): void {
    if (this.#fd === undefined || this.#chunks.length === 0) return;
    const data = Buffer.from(this.#chunks.join(""), "utf8");
    this.#chunks = [];
    this.#buffered = 0;
    let offset = 0;
    while (offset < data.length) offset += writeSync(this.#fd, data, offset);
    this.#written += data.length;
  }

  /** Flushes and closes the file; idempotent. */
  close(): void {
    if (this.#fd === undefined) return;
    this.flush();
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * Streams the events of an NDJSON event log in file order, one parsed line at a time; with `types`, only the events
 * of those types. A line that is not JSON (a run killed in the middle of a write leaves a cut last line) is skipped.
 *
 * With `types`, a line that does not hold `"type":"<one of them>"` is not parsed at all (every line is one
 * `JSON.stringify` of an event, which writes its `type` so); a line that holds it elsewhere (in a description, in a
 * nested object) is parsed and left out by its own `type`. Parsing is most of a pass's cost, and the checks' passes
 * each want one or three of the message event types, which make up most of a run's log.
 */
export async function* readEventLog(path: string, types?: readonly string[]): AsyncGenerator<RunEvent> {
  const markers = types?.map((type) => `"type":${JSON.stringify(type)}`);
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0) continue;
    if (markers !== undefined && !markers.some((marker) => line.includes(marker))) continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (event === null || typeof event !== "object") continue;
    if (types !== undefined && !types.includes((event as { type?: unknown }).type as string)) continue;
    yield event as RunEvent;
  }
}
