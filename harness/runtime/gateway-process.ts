import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { createLogger } from "../common/logger.js";
import { HarnessError } from "../errors.js";
import { spawnableSut } from "./gateway-bundle.js";
import { waitForReady } from "./readiness.js";
import { processTags } from "./process-tags.js";
import { expandVariables, type ResolvedSutDefinition } from "./sut.js";

const SIGKILL_GRACE_MS = 2_000;
const OUTPUT_TAIL_LINES = 40;

/**
 * States of one gateway process. A process is single-use: once `stopped`, `exited` or `start_failure`, it is
 * never started again (a restart spawns a new {@link GatewayProcess} on the same port).
 * `exited` means it ended without being asked (a crash). `paused` is a started process frozen by SIGSTOP: its
 * sockets stay open but it answers nothing until {@link GatewayProcess.resume}.
 */
export type GatewayProcessState = "idle" | "starting" | "started" | "paused" | "stopping" | "stopped" | "start_failure" | "exited";

/** How a process ended. */
export interface ProcessExit {
  /** Exit code, or `null` when a signal ended it. */
  code: number | null;
  /** Signal that ended it, or `null`. */
  signal: NodeJS.Signals | null;
  /** Whether the harness asked for the exit (stop/kill) rather than the process crashing on its own. */
  expected: boolean;
}

/** Options of {@link GatewayProcess}. */
export interface GatewayProcessOptions {
  /** Instance id (`INSTANCE_ID`), e.g. `gw-1`. */
  instanceId: string;
  /** The SUT definition to spawn. */
  sut: ResolvedSutDefinition;
  /** The harness's variables for this instance: PORT, HOST, REDIS_URL, INSTANCE_ID, AUTH_SECRET, ... */
  vars: Readonly<Record<string, string>>;
  /** Run id stored in the process environment for the orphan sweep. */
  runId: string;
  /** Bind address. */
  host: string;
  /** HTTP/WebSocket port. */
  port: number;
  /**
   * Program and arguments the SUT's command runs under, e.g. `["ip", "netns", "exec", ns]` (which executes it in
   * place: the pid, process group and signals stay the SUT's). @default none
   */
  commandPrefix?: readonly string[];
  /** Called with every line the process prints. */
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
  /** Called on every state change, with the exit when the state is `stopped` or `exited`. */
  onStateChange?: (state: GatewayProcessState, exit?: ProcessExit) => void;
}

/** One gateway process of a SUT, with an explicit state machine and idempotent stop/kill. */
export class GatewayProcess implements AsyncDisposable {
  readonly instanceId: string;
  readonly port: number;
  readonly host: string;
  readonly #options: GatewayProcessOptions;
  readonly #log;
  #state: GatewayProcessState = "idle";
  #child?: ChildProcess;
  #exit?: Promise<ProcessExit>;
  #exitInfo?: ProcessExit;
  #expectExit = false;
  #starting?: Promise<this>;
  #stopping?: Promise<ProcessExit>;
  #startAbort = new AbortController();
  readonly #tail: string[] = [];

  constructor(options: GatewayProcessOptions) {
    this.#options = options;
    this.instanceId = options.instanceId;
    this.port = options.port;
    this.host = options.host;
    this.#log = createLogger(`harness:gateway:${options.instanceId}`);
  }

  /** Current state. */
  get state(): GatewayProcessState {
    return this.#state;
  }

  /** Process id, or `undefined` before spawn. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** `http://host:port`. */
  get httpUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** How the process ended, once it has. */
  get exitInfo(): ProcessExit | undefined {
    return this.#exitInfo;
  }

  /** The last lines of output (for error messages). */
  get outputTail(): string {
    return this.#tail.join("\n");
  }

  /** Resolves when the process has exited (immediately for a process never spawned). */
  get exited(): Promise<ProcessExit> {
    return this.#exit ?? Promise.resolve({ code: null, signal: null, expected: true });
  }

  #setState(state: GatewayProcessState, exit?: ProcessExit): void {
    this.#state = state;
    this.#log(`state ${state}`, exit ? { ...exit } : undefined);
    this.#options.onStateChange?.(state, exit);
  }

  /** Spawns the process and waits until its readiness probe answers 200. Only valid in state `idle`. */
  start(): Promise<this> {
    if (this.#state !== "idle") {
      return Promise.reject(new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot start ${this.instanceId} in state ${this.#state}: a gateway process is single-use; spawn a new one to restart`));
    }
    return (this.#starting = this.#start());
  }

  async #start(): Promise<this> {
    const { vars } = this.#options;
    this.#setState("starting");
    // The reference gateway runs from its bundle (gateway-bundle.ts); any other SUT as defined.
    const sut = await spawnableSut(this.#options.sut);
    // The local runtime refuses an image-only SUT before anything starts (local-runtime.ts).
    if (sut.command === null) throw new HarnessError("HARNESS_ERR_INVALID_SUT", `the SUT ${JSON.stringify(sut.name)} has no command to spawn`);
    // A stop or kill while the bundle was being made: spawn nothing.
    if (this.#startAbort.signal.aborted) throw new HarnessError("HARNESS_ERR_ABORTED", `start of ${this.instanceId} was interrupted before the spawn (state ${this.#state})`);
    const expand = (text: string) => expandVariables(text, { NODE: process.execPath, ...vars });
    const env: NodeJS.ProcessEnv = { ...process.env, ...vars, ...processTags(this.#options.runId) };
    for (const [key, value] of Object.entries(sut.env)) env[key] = expand(value);
    const prefix = this.#options.commandPrefix ?? [];
    const command = prefix.length > 0 ? prefix[0]! : expand(sut.command);
    const args = prefix.length > 0 ? [...prefix.slice(1), expand(sut.command), ...sut.args.map(expand)] : sut.args.map(expand);
    this.#log("spawn", { command, args, port: this.port });
    // A process group of its own lets stop/kill reach any children a SUT wrapper script may have.
    const child = spawn(command, args, { cwd: sut.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.#child = child;
    this.#exit = new Promise<ProcessExit>((resolve) => {
      child.once("exit", (code, signal) => {
        const exit: ProcessExit = { code, signal, expected: this.#expectExit };
        this.#exitInfo = exit;
        resolve(exit);
        if (this.#state === "starting" || this.#state === "started" || this.#state === "paused") {
          this.#startAbort.abort(new HarnessError("HARNESS_ERR_PROCESS_EXITED", `instance ${this.instanceId} exited (code ${code}, signal ${signal}) before it was ready:\n${this.outputTail}`));
          this.#setState(this.#state === "starting" ? "start_failure" : "exited", exit);
        }
      });
    });
    for (const [stream, name] of [[child.stdout, "stdout"], [child.stderr, "stderr"]] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.#tail.push(line);
        if (this.#tail.length > OUTPUT_TAIL_LINES) this.#tail.shift();
        this.#log(line, { stream: name });
        this.#options.onOutput?.(line, name);
      });
    }
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once("spawn", () => resolve(undefined));
      child.once("error", (error) => resolve(error));
    });
    if (spawnError) {
      this.#setState("start_failure");
      const code = (spawnError as NodeJS.ErrnoException).code;
      throw new HarnessError(
        code === "ENOENT" ? "HARNESS_ERR_INVALID_SUT" : "HARNESS_ERR_PROCESS_EXITED",
        `cannot spawn ${command} for ${this.instanceId}: ${spawnError.message}${code === "ENOENT" ? " (check the SUT definition's command and cwd)" : ""}`,
        { cause: spawnError },
      );
    }
    try {
      await waitForReady({ url: `${this.httpUrl}${sut.readyPath}`, timeoutMs: sut.startupTimeoutMs, name: this.instanceId, signal: this.#startAbort.signal });
    } catch (error) {
      if (this.#state === "starting") this.#setState("start_failure");
      await this.#terminate("SIGKILL");
      throw error;
    }
    if (this.#state !== "starting") {
      throw new HarnessError("HARNESS_ERR_ABORTED", `start of ${this.instanceId} was interrupted (state ${this.#state})`);
    }
    this.#setState("started");
    return this;
  }

  /** Freezes the process group with SIGSTOP (no socket closes). Only valid in state `started`. */
  pause(): void {
    if (this.#state !== "started") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot pause ${this.instanceId} in state ${this.#state}; only a started instance can be paused`);
    this.#signal("SIGSTOP");
    this.#setState("paused");
  }

  /** Thaws a paused process group with SIGCONT. Only valid in state `paused`. */
  resume(): void {
    if (this.#state !== "paused") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot resume ${this.instanceId} in state ${this.#state}; only a paused instance can be resumed`);
    this.#signal("SIGCONT");
    this.#setState("started");
  }

  /**
   * SIGTERM (the gateway drains), then SIGKILL if it has not exited after `timeoutMs`. Idempotent: every call
   * returns the same exit. Stopping a process that never started resolves at once.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<ProcessExit> {
    return (this.#stopping ??= this.#stopWith("SIGTERM", options.timeoutMs ?? 15_000));
  }

  /** SIGKILL (a crash). Idempotent, and shares the result of a stop already under way. */
  kill(): Promise<ProcessExit> {
    if (this.#stopping && this.#state === "stopping" && this.#child) this.#signal("SIGKILL");
    return (this.#stopping ??= this.#stopWith("SIGKILL", SIGKILL_GRACE_MS));
  }

  async #stopWith(signal: NodeJS.Signals, timeoutMs: number): Promise<ProcessExit> {
    if (this.#state === "idle") {
      this.#setState("stopped");
      return { code: null, signal: null, expected: true };
    }
    if (this.#state === "starting") {
      this.#startAbort.abort(new HarnessError("HARNESS_ERR_ABORTED", `start of ${this.instanceId} aborted by ${signal}`));
    }
    const alreadyExited = this.#exitInfo !== undefined;
    // A stopped (SIGSTOP) process only acts on SIGTERM once it runs again; SIGKILL reaches it either way.
    const wasPaused = this.#state === "paused";
    if (!alreadyExited && this.#state !== "start_failure") this.#setState("stopping");
    if (wasPaused && signal !== "SIGKILL") this.#signal("SIGCONT");
    const exit = await this.#terminate(signal, timeoutMs);
    if (!alreadyExited && this.#state === "stopping") this.#setState("stopped", exit);
    await this.#starting?.catch(() => undefined);
    return exit;
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#exitInfo) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.#child?.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  async #terminate(signal: NodeJS.Signals, timeoutMs = SIGKILL_GRACE_MS): Promise<ProcessExit> {
    if (!this.#child || !this.#exit) return { code: null, signal: null, expected: true };
    if (!this.#exitInfo) {
      this.#expectExit = true;
      this.#signal(signal);
      const escalate = setTimeout(() => this.#signal("SIGKILL"), timeoutMs);
      await this.#exit;
      clearTimeout(escalate);
    }
    // Children of a wrapper script share the group: make sure none outlives the leader.
    const pid = this.#child.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // The group is empty.
      }
    }
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    return this.#exit;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
