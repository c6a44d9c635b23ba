/**
 * The fleet's parent side: {@link ClientFleet} forks the worker processes, sends them commands over IPC and merges
 * their reports into snapshots and the final summary.
 */
import { fork, type ChildProcess } from "node:child_process";
import createDebug from "debug";
import { LatencyHistogram } from "../common/histogram.js";
import { HarnessError, HarnessOptionsError } from "../errors.js";
import { processTags } from "../runtime/process-tags.js";
import type { FleetEvent } from "./fleet-events.js";
import { STATS_INTERVAL_MS, type ParentMessage, type WorkerMessage, type WorkerStats } from "./fleet-ipc.js";
import { resolveClientFleetOptions, validateTarget, type ClientFleetOptions, type ResolvedClientFleetOptions } from "./fleet-options.js";
import { addWorkerStats, emptySnapshot, type FleetLatency, type FleetSnapshot, type FleetSummary, type FleetWorkerExit } from "./fleet-snapshot.js";
import { workerEntry } from "./worker-entry.js";

export type { ClientFleetOptions } from "./fleet-options.js";
export type { FleetLatency, FleetMessageCounts, FleetSnapshot, FleetSummary, FleetWorkerExit } from "./fleet-snapshot.js";

const log = createDebug("harness:fleet");

/** How long a worker may take to load and build its clients, ms. */
const WORKER_READY_TIMEOUT_MS = 30_000;
/** How long stop() waits for a worker's final report before killing it, ms. */
const WORKER_STOP_TIMEOUT_MS = 15_000;
/** Grace between SIGTERM and SIGKILL for a worker that does not exit, ms. */
const SIGKILL_GRACE_MS = 2_000;

/** A running fleet. `stop()` is idempotent and safe to call concurrently; `await using` stops it. */
export interface StartedClientFleet extends AsyncDisposable {
  /** Process ids of the workers. */
  readonly workerPids: readonly number[];
  /** The live counters (as of the last worker report, at most `STATS_INTERVAL_MS` (fleet-ipc.ts) old). */
  snapshot(): FleetSnapshot;
  /** Resolves once at least `count` clients are connected; rejects with `HARNESS_ERR_FLEET_TIMEOUT` after `timeoutMs`. */
  waitForConnected(count: number, timeoutMs: number): Promise<void>;
  /**
   * Changes the route rate across the fleet (messages per second); 0 pauses messages. Resolves once every live
   * worker has applied it: after `setMessageRate(0)` resolves, `snapshot().messages.sent` no longer grows.
   */
  setMessageRate(perSecond: number): Promise<void>;
  /** Replaces the gateway targets used by later (re)connects; open sockets stay where they are. */
  setTargets(targets: string[]): void;
  /** Ramps clients with an index below `count` (at the ramp rate); a lower value than before disconnects no one. */
  setRampLimit(count: number): void;
  /** Closes every socket with 1000, ends the workers (SIGKILL after a grace), returns totals. */
  stop(): Promise<FleetSummary>;
  /**
   * Every client leaves for good, the way `kind` says, then the fleet ends as with `stop()`: `close` closes each
   * socket with a close frame (1000); `terminate` destroys each socket without a close frame (`ws.terminate()`:
   * the kernel sends FIN, or RST with unread data); `kill` SIGKILLs every worker process, so the kernel closes
   * their sockets. Resolves with the totals once every worker has exited.
   */
  leave(kind: FleetLeaveKind): Promise<FleetSummary>;
}

/** How {@link StartedClientFleet.leave} makes its clients leave. */
export type FleetLeaveKind = "close" | "terminate" | "kill";

interface WorkerHandle {
  index: number;
  child: ChildProcess;
  pid: number;
  clients: number;
  stats: WorkerStats | undefined;
  histograms: { connect: string; ack: string; delivery: string } | undefined;
  alive: boolean;
  stopping: boolean;
  exited: Promise<void>;
  stopped: Promise<WorkerStats | undefined>;
  resolveStopped: (stats: WorkerStats | undefined) => void;
  stderr: string;
}

/**
 * An unstarted fleet of simulated WebSocket clients spread over worker processes. The constructor validates the
 * options once (a {@link HarnessOptionsError} with code `HARNESS_ERR_INVALID_OPTIONS` on a broken rule).
 */
export class ClientFleet {
  readonly options: ResolvedClientFleetOptions;
  readonly #onEvent: ((event: FleetEvent) => void) | undefined;
  readonly #onStall: ClientFleetOptions["onStall"];
  #started = false;

  constructor(options: ClientFleetOptions) {
    this.options = resolveClientFleetOptions(options);
    if (options.onEvent !== undefined && typeof options.onEvent !== "function") throw new HarnessOptionsError("invalid client fleet options: onEvent must be a function");
    this.#onEvent = options.onEvent;
    if (options.onStall !== undefined && typeof options.onStall !== "function") throw new HarnessOptionsError("invalid client fleet options: onStall must be a function");
    this.#onStall = options.onStall;
  }

  /** Forks the workers, waits until each is loaded, then starts the ramp. Resolves once the ramp has begun. */
  async start(): Promise<StartedClientFleet> {
    if (this.#started) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "ClientFleet.start() was already called: create a new ClientFleet to start another");
    this.#started = true;
    const fleet = new RunningClientFleet(this.options, this.#onEvent, this.#onStall);
    try {
      await fleet.launch();
    } catch (error) {
      await fleet.stop().catch(() => undefined);
      throw error;
    }
    return fleet;
  }
}

class RunningClientFleet implements StartedClientFleet {
  readonly #options: ResolvedClientFleetOptions;
  readonly #onEvent: ((event: FleetEvent) => void) | undefined;
  readonly #onStall: ClientFleetOptions["onStall"];
  readonly #workers: WorkerHandle[] = [];
  readonly #exits: FleetWorkerExit[] = [];
  readonly #startedAt = Date.now();
  #latency: FleetLatency | undefined;
  #merged: { connect: LatencyHistogram; ack: LatencyHistogram; delivery: LatencyHistogram } | undefined;
  #stopping: Promise<FleetSummary> | undefined;
  #rateSeq = 0;
  #rateWaiters: { seq: number; resolve: () => void }[] = [];
  #eventError: unknown;
  readonly #onParentExit = (): void => {
    for (const worker of this.#workers) if (worker.alive) worker.child.kill("SIGKILL");
  };

  constructor(options: ResolvedClientFleetOptions, onEvent: ((event: FleetEvent) => void) | undefined, onStall?: ClientFleetOptions["onStall"]) {
    this.#options = options;
    this.#onEvent = onEvent;
    this.#onStall = onStall;
  }

  get workerPids(): readonly number[] {
    return this.#workers.map((worker) => worker.pid);
  }

  async launch(): Promise<void> {
    process.once("exit", this.#onParentExit);
    const entry = await workerEntry();
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.#options.workers; index++) {
      const child = fork(entry.path, entry.args, {
        execArgv: entry.execArgv,
        stdio: ["ignore", "ignore", "pipe", "ipc"],
        env: { ...process.env, ...processTags(this.#options.runId) },
      });
      let resolveStopped!: (stats: WorkerStats | undefined) => void;
      const handle: WorkerHandle = {
        index,
        child,
        pid: child.pid ?? -1,
        clients: 0,
        stats: undefined,
        histograms: undefined,
        alive: true,
        stopping: false,
        exited: new Promise((resolve) => child.once("exit", () => resolve())),
        stopped: new Promise((resolve) => (resolveStopped = resolve)),
        resolveStopped: (stats) => resolveStopped(stats),
        stderr: "",
      };
      this.#workers.push(handle);
      child.stderr?.on("data", (chunk: Buffer) => {
        handle.stderr = (handle.stderr + chunk.toString()).slice(-4_096);
      });
      child.once("exit", (code, signal) => {
        handle.alive = false;
        handle.resolveStopped(undefined);
        this.#settleRateWaiters();
        if (!handle.stopping) {
          this.#exits.push({ worker: index, pid: handle.pid, code, signal });
          log("worker %d (pid %d) exited unexpectedly: code %s signal %s %s", index, handle.pid, code, signal, handle.stderr.trim());
        }
      });
      child.on("message", (message: WorkerMessage) => this.#onMessage(handle, message));
      ready.push(this.#waitReady(handle));
      this.#send(handle, { type: "init", worker: index, options: this.#options, events: this.#onEvent !== undefined });
    }
    await Promise.all(ready);
    for (const worker of this.#workers) this.#send(worker, { type: "start" });
    log("fleet of %d clients started in %d workers", this.#options.clients, this.#workers.length);
  }

  #waitReady(handle: WorkerHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        handle.child.off("message", onMessage);
        handle.child.off("exit", onExit);
        reject(new HarnessError("HARNESS_ERR_FLEET_WORKER_FAILED", `fleet worker ${handle.index} (pid ${handle.pid}) ${why}${handle.stderr ? `: ${handle.stderr.trim().slice(-1_000)}` : ""}`));
      };
      const timer = setTimeout(() => fail(`was not ready within ${WORKER_READY_TIMEOUT_MS}ms`), WORKER_READY_TIMEOUT_MS);
      const onMessage = (message: WorkerMessage) => {
        if (message.type === "fatal") fail(`failed: ${message.message}`);
        if (message.type !== "ready") return;
        clearTimeout(timer);
        handle.child.off("message", onMessage);
        handle.child.off("exit", onExit);
        resolve();
      };
      const onExit = (code: number | null, signal: string | null) => fail(`exited during start (code ${code}, signal ${signal})`);
      handle.child.on("message", onMessage);
      handle.child.once("exit", onExit);
    });
  }

  #send(handle: WorkerHandle, message: ParentMessage): void {
    if (handle.alive && handle.child.connected) handle.child.send(message);
  }

  #onMessage(handle: WorkerHandle, message: WorkerMessage): void {
    switch (message.type) {
      case "ready":
        handle.clients = message.clients;
        return;
      case "events":
        if (this.#onEvent === undefined) return;
        for (const event of message.events) {
          try {
            this.#onEvent(event);
          } catch (error) {
            // A failing consumer must not take the fleet down; stop() reports the first failure.
            this.#eventError ??= error;
          }
        }
        return;
      case "stats":
        this.#takeStats(handle, message.stats);
        return;
      case "stopped":
        this.#takeStats(handle, message.stats);
        handle.resolveStopped(message.stats);
        return;
      case "fatal":
        handle.stderr += `\n${message.stack ?? message.message}`;
        return;
      case "stall":
        try {
          this.#onStall?.(handle.index, message.from, message.duration_ms);
        } catch (error) {
          this.#eventError ??= error;
        }
        return;
    }
  }

  #takeStats(handle: WorkerHandle, stats: WorkerStats): void {
    handle.stats = stats;
    this.#settleRateWaiters();
    if (stats.histograms !== undefined) {
      handle.histograms = stats.histograms;
      this.#latency = undefined;
    }
  }

  snapshot(): FleetSnapshot {
    const snapshot = emptySnapshot(Date.now(), this.#mergedLatency());
    for (const worker of this.#workers) {
      if (worker.alive) snapshot.workersAlive++;
      if (worker.stats !== undefined) addWorkerStats(snapshot, worker.stats, worker.alive || worker.stopping);
    }
    return snapshot;
  }

  #mergedLatency(): FleetLatency {
    if (this.#latency !== undefined) return this.#latency;
    const merged = { connect: new LatencyHistogram(), ack: new LatencyHistogram(), delivery: new LatencyHistogram() };
    for (const worker of this.#workers) {
      const h = worker.histograms;
      if (h === undefined) continue;
      merged.connect.add(LatencyHistogram.decode(h.connect));
      merged.ack.add(LatencyHistogram.decode(h.ack));
      merged.delivery.add(LatencyHistogram.decode(h.delivery));
    }
    this.#latency = { connect: merged.connect.summary(), ack: merged.ack.summary(), delivery: merged.delivery.summary() };
    this.#merged = merged;
    return this.#latency;
  }

  async waitForConnected(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const snapshot = this.snapshot();
      if (snapshot.connected >= count) return;
      if (this.#stopping !== undefined) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `the fleet was stopped while waiting for ${count} connected clients`);
      if (snapshot.workersAlive < this.#workers.length) {
        throw new HarnessError("HARNESS_ERR_FLEET_WORKER_FAILED", `a fleet worker exited while waiting for ${count} connected clients: ${JSON.stringify(this.#exits)}`);
      }
      if (Date.now() >= deadline) {
        throw new HarnessError(
          "HARNESS_ERR_FLEET_TIMEOUT",
          `only ${snapshot.connected} of ${count} clients connected after ${timeoutMs}ms (pending ${snapshot.pending}, reconnecting ${snapshot.reconnecting}, connect errors ${snapshot.connectErrors})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(STATS_INTERVAL_MS / 2, Math.max(1, deadline - Date.now()))));
    }
  }

  setMessageRate(perSecond: number): Promise<void> {
    if (typeof perSecond !== "number" || !Number.isFinite(perSecond) || perSecond < 0) {
      throw new HarnessOptionsError(`setMessageRate: perSecond must be a finite number >= 0 (got ${String(perSecond)})`);
    }
    const seq = ++this.#rateSeq;
    for (const worker of this.#workers) this.#send(worker, { type: "set_rate", perSecond, seq });
    return new Promise((resolve) => {
      this.#rateWaiters.push({ seq, resolve });
      this.#settleRateWaiters();
    });
  }

  /** Resolves the `setMessageRate` calls that every live worker has acknowledged (a dead worker sends nothing more). */
  #settleRateWaiters(): void {
    if (this.#rateWaiters.length === 0) return;
    let applied = Infinity;
    for (const worker of this.#workers) {
      if (worker.alive && !worker.stopping) applied = Math.min(applied, worker.stats?.rateSeq ?? 0);
    }
    const waiting = this.#rateWaiters.filter((waiter) => waiter.seq > applied);
    for (const waiter of this.#rateWaiters) if (waiter.seq <= applied) waiter.resolve();
    this.#rateWaiters = waiting;
  }

  setRampLimit(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new HarnessOptionsError(`setRampLimit: count must be an integer >= 0 (got ${String(count)})`);
    for (const worker of this.#workers) this.#send(worker, { type: "set_ramp_limit", count });
  }

  setTargets(targets: string[]): void {
    if (!Array.isArray(targets) || targets.length === 0) throw new HarnessOptionsError("setTargets: targets must be a non-empty array of ws:// URLs");
    const valid = targets.map(validateTarget);
    for (const worker of this.#workers) this.#send(worker, { type: "set_targets", targets: valid });
  }

  stop(): Promise<FleetSummary> {
    return (this.#stopping ??= this.#stop(false));
  }

  async leave(kind: FleetLeaveKind): Promise<FleetSummary> {
    if (kind === "kill" && this.#stopping === undefined) {
      const killed = this.#workers.filter((worker) => worker.alive);
      for (const worker of killed) {
        // On purpose: not an unexpected exit.
        worker.stopping = true;
        worker.child.kill("SIGKILL");
      }
      await Promise.all(killed.map((worker) => worker.exited));
    }
    return (this.#stopping ??= this.#stop(kind === "terminate"));
  }

  async #stop(abrupt: boolean): Promise<FleetSummary> {
    await Promise.allSettled(this.#workers.map((worker) => this.#stopWorker(worker, abrupt)));
    process.off("exit", this.#onParentExit);
    this.#latency = undefined;
    const snapshot = this.snapshot();
    const merged = this.#merged;
    const summary: FleetSummary = {
      ...snapshot,
      clients: this.#options.clients,
      seed: this.#options.seed,
      durationMs: Date.now() - this.#startedAt,
      histograms: {
        connect: merged?.connect.encode() ?? "",
        ack: merged?.ack.encode() ?? "",
        delivery: merged?.delivery.encode() ?? "",
      },
      workerExits: [...this.#exits],
      workerPids: this.#workers.map((worker) => worker.pid),
    };
    if (this.#eventError !== undefined) log("onEvent threw: %O", this.#eventError);
    return summary;
  }

  async #stopWorker(worker: WorkerHandle, abrupt: boolean): Promise<void> {
    if (!worker.alive) return;
    worker.stopping = true;
    this.#settleRateWaiters();
    this.#send(worker, { type: "stop", ...(abrupt ? { abrupt } : {}) });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([worker.stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, WORKER_STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (worker.alive) {
      // The worker exits by itself after its final report; SIGTERM then SIGKILL if it lingers.
      const exitedInTime = await Promise.race([worker.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 1_000)))]);
      clearTimeout(timer);
      if (!exitedInTime) {
        worker.child.kill("SIGTERM");
        const grace = setTimeout(() => worker.child.kill("SIGKILL"), SIGKILL_GRACE_MS);
        await worker.exited;
        clearTimeout(grace);
      }
    }
    worker.child.stderr?.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
