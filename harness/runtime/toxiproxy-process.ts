/**
 * The local runtime's Toxiproxy-compatible server, in a child process of its own (harness/toxiproxy/child-process.ts)
 * rather than in the harness process: every byte between a gateway and Redis (and between the fleet and a gateway
 * where a run proxies the clients) passes its proxies, and in the harness process they stood still whenever its
 * event loop did. A 10-minute run with 20,000 clients saw 554 routes refused `REGISTRY_UNAVAILABLE` outside any fault
 * while the harness's loop stood still for 2.8 s (its state audit reading 55,022 keys): the gateways' Redis commands
 * waited in the harness past their 1 s timeout, a fault the run did not plan, blamed on the system under test.
 *
 * The child is tagged with the run id (process-tags.ts) and started in a process group of its own, so that Ctrl-C
 * reaches the harness, which drains the gateways through the proxies before it stops them. It exits by itself when
 * its IPC channel closes (the harness stopped it, exited or was killed); the orphan sweep covers the rest.
 */
import { fork, type ChildProcess } from "node:child_process";
import { childEntry } from "../common/child-entry.js";
import { HarnessError } from "../errors.js";
import type { ProxyChildMessage } from "../toxiproxy/child-process.js";
import { processTags } from "./process-tags.js";

/** The server's process answers within a second on a quiet machine; ten allow for a loaded one starting many runs. */
const START_TIMEOUT_MS = 10_000;
/** How long a disconnected child gets to close its proxies and exit before SIGKILL. */
const SIGKILL_GRACE_MS = 2_000;
/** Characters of the child's stderr kept for error messages. */
const STDERR_TAIL = 4_096;

/** The proxy server's V8 flags: a small young generation, as the fleet's workers (its garbage is short-lived buffers). */
const entry = childEntry(import.meta.url, "../toxiproxy/child-process", "toxiproxy-server", ["--max-semi-space-size=4"]);

/** Options of {@link ToxiproxyProcess.start}. */
export interface ToxiproxyProcessOptions {
  runId: string;
  /** Where the API listens (on a port the server picks). */
  host: string;
  /** Called for every stall of the server's own event loop (harness/recorder/loop-stalls.ts). */
  onStall?: (from: number, durationMs: number) => void;
}

/** A running Toxiproxy-compatible server process. `stop()` is idempotent. */
export class ToxiproxyProcess {
  /** The API's base URL, `http://host:port`. */
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #stderr: () => string;
  #stopping?: Promise<void>;
  /** Whether stop() sent the SIGKILL (a server that did not exit within the grace). */
  #killed = false;

  private constructor(url: string, child: ChildProcess, exited: Promise<void>, stderr: () => string) {
    this.url = url;
    this.#child = child;
    this.#exited = exited;
    this.#stderr = stderr;
  }

  /** Starts the server's process and resolves once its API listens. */
  static async start(options: ToxiproxyProcessOptions): Promise<ToxiproxyProcess> {
    const { path, args, execArgv } = await entry();
    const child = fork(path, [...args, options.host], {
      execArgv,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { ...process.env, ...processTags(options.runId) },
      detached: true,
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL)));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let fatal: { message: string; code?: string } | undefined;
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new HarnessError("HARNESS_ERR_TOXIPROXY_LISTEN", `the Toxiproxy-compatible server (pid ${child.pid}) did not listen within ${START_TIMEOUT_MS}ms: ${stderr.trim()}`)), START_TIMEOUT_MS);
      child.on("message", (message: ProxyChildMessage) => {
        if (message.type === "listening") {
          clearTimeout(timer);
          resolve(message.url);
        } else if (message.type === "stall") options.onStall?.(message.from, message.duration_ms);
        else if (message.type === "fatal") fatal = message;
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(new HarnessError("HARNESS_ERR_PROCESS_EXITED", `cannot start the Toxiproxy-compatible server: ${error.message}`, { cause: error }));
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        // A start that failed to bind says so with the server's own code (HARNESS_ERR_TOXIPROXY_LISTEN).
        const failed = fatal?.code === "HARNESS_ERR_TOXIPROXY_LISTEN" ? fatal.code : "HARNESS_ERR_PROCESS_EXITED";
        reject(new HarnessError(failed, `the Toxiproxy-compatible server exited before listening (${describeExit(code, signal, fatal?.message ?? stderr)})`));
      });
    }).catch(async (error: unknown) => {
      child.kill("SIGKILL");
      await exited;
      throw error;
    });
    return new ToxiproxyProcess(url, child, exited, () => fatal?.message ?? stderr);
  }

  /** Process id of the server. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /**
   * Stops the server: closes its IPC channel (it stops its proxies and exits), SIGKILL after a grace. Rejects with
   * `HARNESS_ERR_PROCESS_EXITED` when the server had exited by itself before: every proxy of the run went with it,
   * so the run's verdict is not the system under test's.
   */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      if (this.#child.connected) this.#child.disconnect();
      const grace = setTimeout(() => {
        this.#killed = true;
        this.#child.kill("SIGKILL");
      }, SIGKILL_GRACE_MS);
      await this.#exited;
      clearTimeout(grace);
      this.#child.stderr?.destroy();
      // Asked to stop, it exits with code 0 (or our SIGKILL); anything else ended it before, or crashed it meanwhile.
      const { exitCode: code, signalCode: signal } = this.#child;
      if (!(code === 0 || this.#killed)) {
        throw new HarnessError("HARNESS_ERR_PROCESS_EXITED", `the Toxiproxy-compatible server (pid ${this.pid}) exited during the run, and every proxy with it: ${describeExit(code, signal, this.#stderr())}`);
      }
    })());
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null, output: string): string {
  const how = signal ? `signal ${signal}` : `exit code ${code}`;
  const said = output.trim();
  return said ? `${how}: ${said.slice(-1_000)}` : how;
}
