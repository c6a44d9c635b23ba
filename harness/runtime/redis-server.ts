import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { ephemeralRangeStart, findFreePort, isPortFree, LOWEST_PORT } from "../common/free-port.js";
import { retryUntil } from "../common/retry.js";
import { HarnessError } from "../errors.js";
import { processTags } from "./process-tags.js";
import { makeTempDir, removeTempDir } from "./temp-dirs.js";

const REDIS_START_TIMEOUT_MS = 10_000;
const SIGKILL_GRACE_MS = 2_000;
const CLUSTER_READY_TIMEOUT_MS = 20_000;
const INSTALL_HINT = "install it with `apt-get install -y redis-server` (Debian) or put redis-server on PATH";

/** Options of {@link RedisServer}. */
export interface RedisServerOptions {
  /** Bind address. @default "127.0.0.1" */
  host?: string;
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Run id stored in the process environment so that a sweep can find leftovers. @default "adhoc" */
  runId?: string;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. @default [] */
  extraArgs?: string[];
  /** How long to wait for PONG. @default 10000 */
  startupTimeoutMs?: number;
  /** Working directory (cluster config files); a fresh temporary one when absent. */
  dir?: string;
  /** A configuration file, passed before every other argument (a sentinel's, which it rewrites). @default none */
  configFile?: string;
}

/** Sends one inline command to a Redis server and resolves with the first reply line. */
export function redisCommand(host: string, port: number, command: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = "";
    const timer = setTimeout(() => socket.destroy(new Error(`no reply to ${command} from ${host}:${port} in ${timeoutMs}ms`)), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      if (buffer.includes("\r\n")) {
        clearTimeout(timer);
        socket.end();
        resolve(buffer);
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** An unstarted `redis-server` process. */
export class RedisServer {
  readonly #options: RedisServerOptions;

  constructor(options: RedisServerOptions = {}) {
    this.#options = { ...options };
  }

  /** Spawns `redis-server` on a free port (retrying on a port race) and waits for PONG. */
  async start(): Promise<StartedRedisServer> {
    const host = this.#options.host ?? "127.0.0.1";
    const attempts = this.#options.port ? 1 : 3;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const port = this.#options.port || (await findFreePort(host));
      try {
        return await startRedisProcess(host, port, this.#options);
      } catch (error) {
        if (error instanceof HarnessError && error.code === "HARNESS_ERR_REDIS_SERVER_MISSING") throw error;
        lastError = error;
      }
    }
    throw lastError;
  }
}

async function startRedisProcess(host: string, port: number, options: RedisServerOptions): Promise<StartedRedisServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await makeTempDir("redis"));
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    "--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--daemonize", "no",
    "--dir", dir, "--logfile", "", "--loglevel", "warning",
    // Redis's process-title rewrite overwrites the environment block, which would hide the run tag from the sweep.
    "--set-proc-title", "no", ...(options.extraArgs ?? []),
  ];
  const child = spawn("redis-server", args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...processTags(options.runId ?? "adhoc") },
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    if (output.length < 8_192) output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new HarnessError("HARNESS_ERR_REDIS_SERVER_MISSING", `redis-server not found on PATH: ${INSTALL_HINT}`, { cause: error })
          : error,
      );
    });
  });
  try {
    await spawned;
  } catch (error) {
    // Not started (no redis-server on PATH): its directory goes now, not at the next run's sweep.
    if (ownDir) await removeTempDir(dir);
    throw error;
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  try {
    await retryUntil(
      () => redisCommand(host, port, "PING", 500),
      (reply) => reply.startsWith("+PONG"),
      (last) =>
        new HarnessError(
          exitCode !== undefined ? "HARNESS_ERR_PROCESS_EXITED" : "HARNESS_ERR_REDIS_START_TIMEOUT",
          exitCode !== undefined
            ? `redis-server on ${host}:${port} exited with code ${exitCode} before answering PING: ${output.trim()}`
            : `redis-server on ${host}:${port} did not answer PING within ${options.startupTimeoutMs ?? REDIS_START_TIMEOUT_MS}ms`,
          { cause: last.error },
        ),
      { timeoutMs: options.startupTimeoutMs ?? REDIS_START_TIMEOUT_MS, intervalMs: 10 },
    );
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    if (ownDir) await removeTempDir(dir);
    throw error;
  }
  return new StartedRedisServer(host, port, child, exited, ownDir ? dir : undefined);
}

/** A running `redis-server`. `stop()` is idempotent and safe to call concurrently. */
export class StartedRedisServer implements AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly #ownDir: string | undefined;
  #stopping?: Promise<void>;

  constructor(host: string, port: number, child: ChildProcess, exited: Promise<number | null>, ownDir: string | undefined) {
    this.host = host;
    this.port = port;
    this.#child = child;
    this.#exited = exited;
    this.#ownDir = ownDir;
  }

  /** `redis://host:port`. */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** Process id of the server. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Stops the server: SIGTERM, then SIGKILL after a short grace; removes its temporary directory. */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#stop("SIGTERM"));
  }

  /** Kills the server with SIGKILL (a crash: nothing is saved). */
  kill(): Promise<void> {
    return (this.#stopping ??= this.#stop("SIGKILL"));
  }

  async #stop(signal: NodeJS.Signals): Promise<void> {
    if (!this.exited) {
      this.#child.kill(signal);
      const grace = setTimeout(() => this.#child.kill("SIGKILL"), SIGKILL_GRACE_MS);
      await this.#exited;
      clearTimeout(grace);
    }
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    if (this.#ownDir) await removeTempDir(this.#ownDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Options of {@link RedisCluster}. */
export interface RedisClusterOptions {
  /** Number of masters. @default 3 */
  masters?: number;
  /** Replicas per master (a failover needs at least 1). @default 0 */
  replicas?: number;
  /** Run id stored in every node's environment. @default "adhoc" */
  runId?: string;
  /** Bind address. @default "127.0.0.1" */
  host?: string;
}

/** An unstarted Redis Cluster of `masters` redis-server processes, built with `redis-cli --cluster create`. */
export class RedisCluster {
  readonly #options: RedisClusterOptions;

  constructor(options: RedisClusterOptions = {}) {
    this.#options = { ...options };
  }

  async start(): Promise<StartedRedisCluster> {
    const host = this.#options.host ?? "127.0.0.1";
    const masters = this.#options.masters ?? 3;
    const replicas = this.#options.replicas ?? 0;
    const dir = await makeTempDir("cluster");
    const nodes: StartedRedisServer[] = [];
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        // The cluster bus listens on port + 10000, so keep the data port low enough and its bus port free.
        const port = await findClusterPort(host);
        nodes.push(
          await new RedisServer({
            host,
            port,
            runId: this.#options.runId,
            dir,
            extraArgs: clusterNodeArgs(port),
          }).start(),
        );
      }
      await createCluster(nodes, replicas);
      await retryUntil(
        () => Promise.all(nodes.map((node) => redisCommand(node.host, node.port, "CLUSTER INFO"))),
        (replies) => replies.every((reply) => reply.includes("cluster_state:ok")),
        () => new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `Redis Cluster of ${masters} masters did not reach cluster_state:ok within ${CLUSTER_READY_TIMEOUT_MS}ms`),
        { timeoutMs: CLUSTER_READY_TIMEOUT_MS, intervalMs: 50 },
      );
      // cluster_state:ok comes before the replicas have synchronised and before gossip has told every node which
      // nodes are replicas: a failover right after start would find no replica to promote (and CLUSTER SLOTS would
      // not list them yet). Wait until every replica is in sync and every node sees all of them as linked replicas.
      const replicaCount = masters * replicas;
      await retryUntil(
        () => Promise.all(nodes.flatMap((node) => [redisCommand(node.host, node.port, "INFO replication"), redisCommand(node.host, node.port, "CLUSTER NODES")])),
        (replies) => {
          const infos = replies.filter((_, i) => i % 2 === 0);
          const views = replies.filter((_, i) => i % 2 === 1);
          const linkedReplicas = (view: string) => view.split("\n").filter((line) => / (myself,)?slave /.test(line) && / connected/.test(line)).length;
          return infos.filter((info) => info.includes("role:slave") && info.includes("master_link_status:up")).length === replicaCount && views.every((view) => linkedReplicas(view) === replicaCount);
        },
        () => new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `the ${replicaCount} replicas of the Redis Cluster were not all in sync and known to every node within ${CLUSTER_READY_TIMEOUT_MS}ms`),
        { timeoutMs: CLUSTER_READY_TIMEOUT_MS, intervalMs: 50 },
      );
    } catch (error) {
      await Promise.allSettled(nodes.map((node) => node.kill()));
      await removeTempDir(dir);
      throw error;
    }
    return new StartedRedisCluster(nodes, dir, this.#options.runId ?? "adhoc");
  }
}

/**
 * The `redis-server` arguments of cluster node `port`. A node is declared failed after 2000 ms without an answer
 * (cluster-node-timeout), so a replica takes over a dead master's slots within a few seconds.
 */
export function clusterNodeArgs(port: number): string[] {
  return ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0"];
}

/** A cluster node's bus listens on its data port plus this (fixed by Redis). */
const CLUSTER_BUS_OFFSET = 10_000;

/**
 * A data port whose bus port is free too, both below the kernel's ephemeral range when it leaves room for them (as
 * {@link findFreePort} picks, and for the same reason: an outgoing connection may hold a port of that range).
 */
async function findClusterPort(host: string): Promise<number> {
  const range = { lowest: LOWEST_PORT, highest: ephemeralRangeStart() - 1 - CLUSTER_BUS_OFFSET };
  for (let i = 0; i < 50; i++) {
    const port = await findFreePort(host, range);
    if (port + CLUSTER_BUS_OFFSET > 65_535) continue;
    if (await isPortFree(host, port + CLUSTER_BUS_OFFSET)) return port;
  }
  throw new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `no free port pair (port, port+10000) found on ${host}`);
}

function createCluster(nodes: StartedRedisServer[], replicas: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ["--cluster", "create", ...nodes.map((node) => `${node.host}:${node.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"];
    const child = spawn("redis-cli", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", (error) => reject(new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `redis-cli could not run: ${INSTALL_HINT}`, { cause: error })));
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `redis-cli --cluster create exited with ${code}: ${output.trim().slice(-500)}`)),
    );
  });
}

/** A running Redis Cluster. */
export class StartedRedisCluster implements AsyncDisposable {
  readonly #nodes: StartedRedisServer[];
  /** Working directory of every node (their `nodes-PORT.conf`). */
  readonly dir: string;
  /** Run id of every node's process. */
  readonly runId: string;
  #stopping?: Promise<void>;

  constructor(nodes: StartedRedisServer[], dir: string, runId = "adhoc") {
    this.#nodes = nodes;
    this.dir = dir;
    this.runId = runId;
  }

  /** Every node, masters and replicas, in start order (a restarted node keeps its place and port). */
  get nodes(): readonly StartedRedisServer[] {
    return this.#nodes;
  }

  /** @internal Puts a node restarted on the port of `old` in its place (cluster-failover.ts). */
  replaceNode(old: StartedRedisServer, node: StartedRedisServer): void {
    const index = this.#nodes.indexOf(old);
    if (index < 0) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `node ${old.port} is not part of this cluster`);
    this.#nodes[index] = node;
  }

  /** The nodes as `host:port` pairs, as ioredis's Cluster takes them. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: node.host, port: node.port }));
  }

  /** Comma list of node URLs (the gateway's `REDIS_URL` with `REDIS_CLUSTER=1`). */
  get url(): string {
    return this.nodes.map((node) => node.url).join(",");
  }

  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      const results = await Promise.allSettled(this.nodes.map((node) => node.stop()));
      await removeTempDir(this.dir);
      const errors = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
      if (errors.length > 0) throw new AggregateError(errors, `stopping ${errors.length} cluster node(s) failed`);
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
