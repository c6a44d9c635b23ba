import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import createDebug from "debug";
import { LatencyHistogram, type LatencySummary } from "../common/histogram.js";
import { HarnessError, HarnessOptionsError } from "../errors.js";
import { OWNER_PID_ENV, RUN_ID_ENV } from "../runtime/redis-server.js";
import type { FleetEvent } from "./fleet-events.js";
import type { ParentMessage, WorkerMessage, WorkerStats } from "./fleet-ipc.js";
import { resolveClientFleetOptions, validateTarget, type ResolvedClientFleetOptions } from "./fleet-plan.js";

const log = createDebug("harness:fleet");

/** How long a worker may take to load and build its clients, ms. */
const WORKER_READY_TIMEOUT_MS = 30_000;
/** How long stop() waits for a worker's final report before killing it, ms. */
const WORKER_STOP_TIMEOUT_MS = 15_000;
/**
 * V8 flags of the workers. A small young generation keeps a worker's resident memory close to what its sockets
 * really hold (the default lets the nursery grow to tens of MB during a ramp).
 */
const WORKER_V8_FLAGS = ["--max-semi-space-size=2"];
/** Grace between SIGTERM and SIGKILL for a worker that does not exit, ms. */
const SIGKILL_GRACE_MS = 2_000;

/** Options of {@link ClientFleet}. Validated once by the constructor (TypeError with code `HARNESS_ERR_INVALID_OPTIONS`). */
export interface ClientFleetOptions {
  /** Gateway base URLs, e.g. `ws://127.0.0.1:PORT`; the fleet adds the path `/ws`. At least one. */
  targets: string[];
  /** Number of simulated clients (>= 1). */
  clients: number;
  /** HS256 secret the fleet mints client tokens with (the gateway's `AUTH_SECRET`). */
  authSecret: string;
  /** Fixes every random choice of the fleet: identities, targets, message schedule, backoff jitter. */
  seed: number;
  /** Worker processes. @default enough for at most `maxSocketsPerWorker` clients each (and at most one per session) */
  workers?: number;
  /** Most clients one worker holds (two sockets each during moves stay below the 20,000 open-files limit). @default 8000 */
  maxSocketsPerWorker?: number;
  /**
   * `localAddress` values, spread over clients round-robin; ~28k ephemeral ports each. Unset, the kernel picks the
   * source (127.0.0.1) without a bind per connect. @default [] (kernel's choice)
   */
  sourceAddresses?: string[];
  /** New connections per second across the fleet during the ramp; 0 = as fast as the workers go. @default 0 */
  rampPerSecond?: number;
  /**
   * Only clients with an index below this are ramped (step loads; raise it later with `setRampLimit`).
   * @default clients (everyone)
   */
  rampLimit?: number;
  /** Most connects in flight per worker (more only queues handshakes and costs memory). @default 64 */
  maxConnectsInFlight?: number;
  /** Route messages per second across the fleet; 0 = none (change later with `setMessageRate`). @default 0 */
  messageRatePerSecond?: number;
  /** Number of tenants; sessions are spread over them. @default 2 */
  tenants?: number;
  /** Clients per session (the peers a client routes to). @default 4 */
  clientsPerSession?: number;
  /** Agent types a client is given (seeded pick). @default ["planner", "executor", "observer"] */
  agentTypes?: string[];
  /** Pillars a client is given (seeded pick). @default ["alpha", "beta"] */
  pillars?: string[];
  /** Reconnect backoff: delay = min(max, initial * 2^(n-1)) * (0.5 + 0.5 * jitter), jitter seeded. */
  reconnect?: {
    /** @default 100 */
    initialDelayMs?: number;
    /** @default 5000 */
    maxDelayMs?: number;
  };
  /** Prefix of session ids and tenant ids, so runs do not collide in a shared Redis. @default `f<seed hex>` */
  idPrefix?: string;
  /** Lifetime of minted tokens in seconds. @default 86400 */
  tokenTtlS?: number;
  /** Receives every event, in batches from the workers (per client in order). When absent, workers send no events. */
  onEvent?: (event: FleetEvent) => void;
  /** Run id put in every worker's environment (`TRAFFIC_COP_RUN_ID`) for the orphan sweep. @default "adhoc" */
  runId?: string;
}

/** Counters of routed messages. */
export interface FleetMessageCounts {
  sent: number;
  acked: number;
  /** The fleet's own routes received by its clients. */
  received: number;
  /** Other messages its clients received (a probe's or an HTTP flood's routes); not in `received`. */
  receivedOther: number;
  errors: number;
  /** Sum of `delivered` over all acks. */
  delivered: number;
}

/** Live view of the fleet, refreshed from the workers every {@link STATS_INTERVAL_MS}. */
export interface FleetSnapshot {
  /** Epoch ms of the snapshot. */
  t: number;
  /** Clients with a welcomed socket. */
  connected: number;
  /** Connected clients per `instance_id` (from the welcomes). */
  byInstance: Record<string, number>;
  /** Connected clients per target base URL. */
  byTarget: Record<string, number>;
  /** Clients waiting for or attempting a reconnect (they had been connected before). */
  reconnecting: number;
  /** Clients that never got a welcome yet (ramp not reached them, or first attempts failing). */
  pending: number;
  /** Total welcomes, disconnects and connect errors so far. */
  welcomes: number;
  disconnects: number;
  connectErrors: number;
  messages: FleetMessageCounts;
  latency: FleetLatency;
  /** Worker processes alive. */
  workersAlive: number;
}

/** Latency percentiles (ms) from the workers' HDR histograms. */
export interface FleetLatency {
  /** Upgrade start -> welcome. */
  connect: LatencySummary;
  /** Route sent -> ack. */
  ack: LatencySummary;
  /** Route sent -> received by a peer. */
  delivery: LatencySummary;
}

/** A worker that ended other than through `stop()`. */
export interface FleetWorkerExit {
  worker: number;
  pid: number;
  code: number | null;
  signal: string | null;
}

/** What `stop()` returns: final totals, latency percentiles and the encoded HDR histograms. */
export interface FleetSummary extends FleetSnapshot {
  /** Clients the fleet was configured with. */
  clients: number;
  seed: number;
  /** Wall time from start() to stop() in ms. */
  durationMs: number;
  /** Compressed base64 HDR histograms (microseconds) for further merging: connect, ack, delivery. */
  histograms: { connect: string; ack: string; delivery: string };
  /** Workers that crashed or exited on their own during the run (empty on a clean run). */
  workerExits: FleetWorkerExit[];
  /** Process ids of the workers (all exited once `stop()` resolves). */
  workerPids: number[];
}

/** How often workers report their counters to the parent, in ms. */
export const STATS_INTERVAL_MS = 200;

/** A running fleet. `stop()` is idempotent and safe to call concurrently; `await using` stops it. */
export interface StartedClientFleet extends AsyncDisposable {
  /** Process ids of the workers. */
  readonly workerPids: readonly number[];
  /** The live counters (as of the last worker report, at most {@link STATS_INTERVAL_MS} old). */
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
}

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

/** Where bundled workers are cached (inside node_modules, so the bundle resolves its packages from there). */
const WORKER_BUNDLE_DIR = fileURLToPath(new URL("../../node_modules/.cache/traffic-cop/", import.meta.url));

let bundledWorker: Promise<string | undefined> | undefined;

/**
 * Bundles fleet-worker.ts and our modules into one ES module (packages stay external), cached by content hash:
 * a worker then runs plain JS instead of loading tsx, whose loader thread costs each worker about 28 MB of
 * resident memory and its start-up time. Undefined when esbuild is not available (the worker then runs on tsx).
 */
function bundleWorker(source: string): Promise<string | undefined> {
  return (bundledWorker ??= (async () => {
    try {
      const esbuild = await import("esbuild");
      const built = await esbuild.build({ entryPoints: [source], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", write: false, logLevel: "silent" });
      const code = built.outputFiles[0]?.contents;
      if (code === undefined) return undefined;
      const file = join(WORKER_BUNDLE_DIR, `fleet-worker-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`);
      if (!existsSync(file)) {
        await mkdir(WORKER_BUNDLE_DIR, { recursive: true });
        // Write then rename: fleets started at once in other processes never see half a file.
        const partial = `${file}.${process.pid}.tmp`;
        await writeFile(partial, code);
        await rename(partial, file);
      }
      return file;
    } catch (error) {
      log("bundling the fleet worker failed, workers run on tsx: %O", error);
      return undefined;
    }
  })());
}

/** Path of the worker entry and the Node flags it needs (a bundle when running from TypeScript sources, else tsx). */
async function workerEntry(): Promise<{ path: string; execArgv: string[] }> {
  const ts = import.meta.url.endsWith(".ts");
  const path = fileURLToPath(new URL(ts ? "./fleet-worker.ts" : "./fleet-worker.js", import.meta.url));
  if (!ts) return { path, execArgv: [...WORKER_V8_FLAGS] };
  const bundle = await bundleWorker(path);
  return bundle === undefined ? { path, execArgv: [...WORKER_V8_FLAGS, "--import", "tsx"] } : { path: bundle, execArgv: [...WORKER_V8_FLAGS] };
}

/**
 * An unstarted fleet of simulated WebSocket clients spread over worker processes. The constructor validates the
 * options once (a {@link HarnessOptionsError} with code `HARNESS_ERR_INVALID_OPTIONS` on a broken rule).
 */
export class ClientFleet {
  readonly options: ResolvedClientFleetOptions;
  readonly #onEvent: ((event: FleetEvent) => void) | undefined;
  #started = false;

  constructor(options: ClientFleetOptions) {
    this.options = resolveClientFleetOptions(options);
    if (options.onEvent !== undefined && typeof options.onEvent !== "function") throw new HarnessOptionsError("invalid client fleet options: onEvent must be a function");
    this.#onEvent = options.onEvent;
  }

  /** Forks the workers, waits until each is loaded, then starts the ramp. Resolves once the ramp has begun. */
  async start(): Promise<StartedClientFleet> {
    if (this.#started) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "ClientFleet.start() was already called: create a new ClientFleet to start another");
    this.#started = true;
    const fleet = new RunningClientFleet(this.options, this.#onEvent);
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

  constructor(options: ResolvedClientFleetOptions, onEvent: ((event: FleetEvent) => void) | undefined) {
    this.#options = options;
    this.#onEvent = onEvent;
  }

  get workerPids(): readonly number[] {
    return this.#workers.map((worker) => worker.pid);
  }

  async launch(): Promise<void> {
    process.once("exit", this.#onParentExit);
    const entry = await workerEntry();
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.#options.workers; index++) {
      const child = fork(entry.path, [], {
        execArgv: entry.execArgv,
        stdio: ["ignore", "ignore", "pipe", "ipc"],
        env: { ...process.env, [RUN_ID_ENV]: this.#options.runId, [OWNER_PID_ENV]: String(process.pid) },
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
    const snapshot: FleetSnapshot = {
      t: Date.now(),
      connected: 0,
      byInstance: {},
      byTarget: {},
      reconnecting: 0,
      pending: 0,
      welcomes: 0,
      disconnects: 0,
      connectErrors: 0,
      messages: { sent: 0, acked: 0, received: 0, receivedOther: 0, errors: 0, delivered: 0 },
      latency: this.#mergedLatency(),
      workersAlive: 0,
    };
    for (const worker of this.#workers) {
      if (worker.alive) snapshot.workersAlive++;
      const s = worker.stats;
      if (s === undefined) continue;
      snapshot.welcomes += s.welcomes;
      snapshot.disconnects += s.disconnects;
      snapshot.connectErrors += s.connectErrors;
      snapshot.messages.sent += s.sent;
      snapshot.messages.acked += s.acked;
      snapshot.messages.received += s.received;
      snapshot.messages.receivedOther += s.receivedOther;
      snapshot.messages.errors += s.errors;
      snapshot.messages.delivered += s.delivered;
      // A dead worker's sockets are gone with it: only live workers count as connected.
      if (!worker.alive && !worker.stopping) continue;
      snapshot.connected += s.connected;
      snapshot.reconnecting += s.reconnecting;
      snapshot.pending += s.pending;
      for (const [key, n] of Object.entries(s.byInstance)) snapshot.byInstance[key] = (snapshot.byInstance[key] ?? 0) + n;
      for (const [key, n] of Object.entries(s.byTarget)) snapshot.byTarget[key] = (snapshot.byTarget[key] ?? 0) + n;
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
    return (this.#stopping ??= this.#stop());
  }

  async #stop(): Promise<FleetSummary> {
    await Promise.allSettled(this.#workers.map((worker) => this.#stopWorker(worker)));
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

  async #stopWorker(worker: WorkerHandle): Promise<void> {
    if (!worker.alive) return;
    worker.stopping = true;
    this.#settleRateWaiters();
    this.#send(worker, { type: "stop" });
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
