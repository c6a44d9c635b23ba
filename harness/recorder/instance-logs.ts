/**
 * What each instance of the system under test printed, kept beside the run's report: `instances/<id>.log`, one line
 * per line it wrote (`<ISO time> <stdout|stderr> <line>`), appended as it comes. The reference gateway logs its
 * Redis link going down and up, silent links dropped, drains and reaps there; a reviewer of a failed run reads what
 * the gateway itself saw. What a system under test prints is bounded, since it may print anything: a line longer
 * than {@link MAX_LINE_BYTES} is cut, and past {@link MAX_INSTANCE_LOG_BYTES} per instance nothing more is kept but
 * the count of lines dropped. The file is a plain text file; nothing of it is rendered into the report page.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { join } from "node:path";

/** The report's subdirectory of instance logs. */
export const INSTANCE_LOG_DIR = "instances";
/** Most bytes kept per instance (a restarted instance appends to its own file). */
export const MAX_INSTANCE_LOG_BYTES = 8 * 1024 * 1024;
/** Longest line kept whole, in bytes (UTF-16 code units, close enough for a bound). */
export const MAX_LINE_BYTES = 16 * 1024;

/** The log's file name of an instance id: its characters outside `[A-Za-z0-9._-]` become `_`. */
function fileNameOf(instanceId: string): string {
  return `${instanceId.replace(/[^A-Za-z0-9._-]/g, "_")}.log`;
}

interface InstanceLog {
  stream: WriteStream;
  bytes: number;
  dropped: number;
}

/** The instance logs of one run (see the module comment). */
export class InstanceLogs {
  readonly #dir: string;
  readonly #logs = new Map<string, InstanceLog>();
  #closed = false;

  constructor(reportDir: string) {
    this.#dir = join(reportDir, INSTANCE_LOG_DIR);
  }

  /** Appends one line of instance `instanceId`; bound as the runtime's `onOutput`. */
  readonly write = (instanceId: string, line: string, stream: "stdout" | "stderr"): void => {
    if (this.#closed) return;
    const log = this.#logOf(instanceId);
    if (log.bytes >= MAX_INSTANCE_LOG_BYTES) {
      log.dropped++;
      return;
    }
    const kept = line.length > MAX_LINE_BYTES ? `${line.slice(0, MAX_LINE_BYTES)} [${line.length - MAX_LINE_BYTES} more characters cut]` : line;
    const text = `${new Date().toISOString()} ${stream} ${kept}\n`;
    log.bytes += Buffer.byteLength(text);
    log.stream.write(text);
  };

  /** Each instance that printed anything: the path of its log, relative to the report directory. */
  get files(): Record<string, string> {
    return Object.fromEntries([...this.#logs.keys()].map((id) => [id, `${INSTANCE_LOG_DIR}/${fileNameOf(id)}`]));
  }

  /** Notes what was dropped and closes every file; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#logs.values()].map(async (log) => {
        if (log.dropped > 0) log.stream.write(`${new Date().toISOString()} harness ${log.dropped} more lines dropped: the log reached ${MAX_INSTANCE_LOG_BYTES} bytes\n`);
        log.stream.end();
        await finished(log.stream).catch(() => undefined);
      }),
    );
  }

  #logOf(instanceId: string): InstanceLog {
    let log = this.#logs.get(instanceId);
    if (!log) {
      mkdirSync(this.#dir, { recursive: true });
      const stream = createWriteStream(join(this.#dir, fileNameOf(instanceId)), { flags: "a" });
      stream.on("error", () => undefined);
      log = { stream, bytes: 0, dropped: 0 };
      this.#logs.set(instanceId, log);
    }
    return log;
  }
}
