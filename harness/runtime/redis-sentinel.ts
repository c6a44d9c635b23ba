/**
 * A Redis Sentinel group on 127.0.0.1: one primary, one replica and three sentinels (quorum 2), every process
 * tagged with the run id. `failover()` is the `redis_failover` fault: SIGKILL the primary, wait for the sentinels
 * to promote the replica, then bring the killed node back, empty, as the new primary's replica.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { findFreePort } from "../common/free-port.js";
import { retryUntil } from "../common/retry.js";
import { HarnessError } from "../errors.js";
import { RedisServer, type StartedRedisServer } from "./redis-server.js";
import { makeTempDir, removeTempDir } from "./temp-dirs.js";

/** Name of the primary the sentinels monitor (the gateways' `REDIS_SENTINEL_NAME`). */
export const SENTINEL_MASTER_NAME = "traffic-cop";
const SENTINELS = 3;
const QUORUM = 2;
/**
 * A sentinel marks the primary down after this long without a reply. 1000 ms is the shortest that stays clear of
 * false alarms on 2 loaded cores (a PING answered in under 1 ms normally); promotion follows within about 1-3 s.
 */
const DOWN_AFTER_MS = 1_000;
/** Sentinel's failover timeout: a stuck attempt is retried by another sentinel after this long. */
const FAILOVER_TIMEOUT_MS = 5_000;
/** Longest wait for the group to form, and for a promotion: a few failover timeouts. */
const READY_TIMEOUT_MS = 20_000;
const PROMOTION_TIMEOUT_MS = 4 * FAILOVER_TIMEOUT_MS;
const POLL_MS = 50;
const COMMAND_TIMEOUT_MS = 1_000;

/** Options of {@link RedisSentinelGroup}. */
export interface RedisSentinelGroupOptions {
  /** Run id stored in every process's environment. @default "adhoc" */
  runId?: string;
  /** Bind address. @default "127.0.0.1" */
  host?: string;
}

/** A host and port. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** What one failover did, for the fault's `fault_end` detail. */
export interface FailoverReport {
  /** The killed primary and the promoted replica. */
  killed: string;
  promoted: string;
  /** Replication bytes the replica had not received when the primary died (acknowledged writes that may be lost). */
  replication_lag_bytes: number | null;
  /** SIGKILL of the primary → the sentinels name the replica and it answers as a primary, ms. */
  promotion_ms: number;
  /** Promotion → the killed node back as a replica in sync with the new primary, ms. */
  rejoin_ms: number;
}

/** An unstarted Sentinel group. */
export class RedisSentinelGroup {
  readonly #options: RedisSentinelGroupOptions;

  constructor(options: RedisSentinelGroupOptions = {}) {
    this.#options = { ...options };
  }

  /** Starts the primary, the replica, then the sentinels, and waits until every sentinel sees the replica and the others. */
  async start(): Promise<StartedRedisSentinelGroup> {
    const host = this.#options.host ?? "127.0.0.1";
    const runId = this.#options.runId ?? "adhoc";
    const dir = await makeTempDir("sentinel");
    const group = new StartedRedisSentinelGroup(host, runId, dir);
    try {
      await group.init();
    } catch (error) {
      await group.stop().catch(() => undefined);
      throw error;
    }
    return group;
  }
}

/** A running Sentinel group. `stop()` is idempotent. */
export class StartedRedisSentinelGroup implements AsyncDisposable {
  readonly host: string;
  readonly #runId: string;
  readonly #dir: string;
  /** The two data nodes; each keeps its port for the whole run (a killed node comes back on it). */
  readonly #nodes: StartedRedisServer[] = [];
  readonly #sentinels: StartedRedisServer[] = [];
  #stopping?: Promise<void>;

  /** @internal use {@link RedisSentinelGroup.start}. */
  constructor(host: string, runId: string, dir: string) {
    this.host = host;
    this.#runId = runId;
    this.#dir = dir;
  }

  /** @internal */
  async init(): Promise<void> {
    const primary = await this.#dataNode(0, []);
    this.#nodes.push(primary);
    this.#nodes.push(await this.#dataNode(0, ["--replicaof", this.host, String(primary.port)]));
    for (let i = 0; i < SENTINELS; i++) {
      const port = await findFreePort(this.host);
      const configFile = join(this.#dir, `sentinel-${port}.conf`);
      await writeFile(
        configFile,
        [
          `sentinel monitor ${SENTINEL_MASTER_NAME} ${this.host} ${primary.port} ${QUORUM}`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          "",
        ].join("\n"),
      );
      this.#sentinels.push(await new RedisServer({ host: this.host, port, runId: this.#runId, dir: this.#dir, configFile, extraArgs: ["--sentinel"] }).start());
    }
    await retryUntil(
      () => Promise.all(this.#sentinels.map((s) => sentinelCall(s, "master", SENTINEL_MASTER_NAME))),
      (replies) => replies.every((reply) => {
        const fields = pairs(reply);
        return Number(fields["num-slaves"]) >= 1 && Number(fields["num-other-sentinels"]) === SENTINELS - 1 && fields.flags === "master";
      }),
      (last) => new HarnessError("HARNESS_ERR_REDIS_SENTINEL", `the Sentinel group did not form within ${READY_TIMEOUT_MS}ms (every sentinel must see 1 replica and ${SENTINELS - 1} other sentinels): ${JSON.stringify(last.value ?? String(last.error))}`),
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: POLL_MS },
    );
    await this.#awaitInSync(this.#nodes[1]!);
  }

  #dataNode(port: number, extraArgs: string[]): Promise<StartedRedisServer> {
    // A full sync waits repl-diskless-sync-delay (5 s) for more replicas to join; there is only ever one here.
    return new RedisServer({ host: this.host, port, runId: this.#runId, extraArgs: ["--repl-diskless-sync-delay", "0", ...extraArgs] }).start();
  }

  /** The data nodes (primary and replica, in start order; their roles swap with each failover). */
  get nodes(): NodeAddress[] {
    return this.#nodes.map((node) => ({ host: node.host, port: node.port }));
  }

  /** The sentinels' addresses (the gateways' `REDIS_SENTINELS`). */
  get sentinels(): NodeAddress[] {
    return this.#sentinels.map((node) => ({ host: node.host, port: node.port }));
  }

  /** Process ids of every node and sentinel (for leftover checks). */
  get pids(): number[] {
    return [...this.#nodes, ...this.#sentinels].map((node) => node.pid);
  }

  /** The primary the first answering sentinel names. */
  async primary(): Promise<NodeAddress> {
    let lastError: unknown;
    for (const sentinel of this.#sentinels) {
      try {
        const reply = (await sentinelCall(sentinel, "get-master-addr-by-name", SENTINEL_MASTER_NAME)) as [string, string] | null;
        if (reply) return { host: reply[0], port: Number(reply[1]) };
      } catch (error) {
        lastError = error;
      }
    }
    throw new HarnessError("HARNESS_ERR_REDIS_SENTINEL", `no sentinel named a primary for ${SENTINEL_MASTER_NAME}`, { cause: lastError });
  }

  /**
   * SIGKILLs the current primary, waits until a majority of sentinels names the replica and the replica answers
   * `ROLE` as a primary, then restarts the killed node empty on its port as the new primary's replica and waits
   * until it is in sync. Rejects with `HARNESS_ERR_REDIS_SENTINEL` when the promotion does not happen within
   * {@link PROMOTION_TIMEOUT_MS}.
   */
  async failover(): Promise<FailoverReport> {
    const current = await this.primary();
    const oldIndex = this.#nodes.findIndex((node) => node.port === current.port);
    if (oldIndex < 0) throw new HarnessError("HARNESS_ERR_REDIS_SENTINEL", `the sentinels name ${current.host}:${current.port}, which is not a node of this group`);
    const old = this.#nodes[oldIndex]!;
    const replica = this.#nodes[1 - oldIndex]!;
    const lag = await replicationLag(old, replica).catch(() => null);
    const t0 = Date.now();
    await old.kill();
    await retryUntil(
      async () => {
        const named = await Promise.allSettled(this.#sentinels.map((s) => sentinelCall(s, "get-master-addr-by-name", SENTINEL_MASTER_NAME)));
        const votes = named.filter((r) => r.status === "fulfilled" && Array.isArray(r.value) && Number(r.value[1]) === replica.port).length;
        const role = (await nodeCall(replica, "ROLE")) as [string, ...unknown[]];
        return votes >= QUORUM && role[0] === "master";
      },
      Boolean,
      (last) => new HarnessError("HARNESS_ERR_REDIS_SENTINEL", `the replica ${replica.host}:${replica.port} was not promoted within ${PROMOTION_TIMEOUT_MS}ms of killing the primary ${old.port}`, { cause: last.error }),
      { timeoutMs: PROMOTION_TIMEOUT_MS, intervalMs: POLL_MS },
    );
    const promotedAt = Date.now();
    const back = await this.#dataNode(old.port, ["--replicaof", replica.host, String(replica.port)]);
    this.#nodes[oldIndex] = back;
    await this.#awaitInSync(back);
    return {
      killed: `${old.host}:${old.port}`,
      promoted: `${replica.host}:${replica.port}`,
      replication_lag_bytes: lag,
      promotion_ms: promotedAt - t0,
      rejoin_ms: Date.now() - promotedAt,
    };
  }

  async #awaitInSync(replica: StartedRedisServer): Promise<void> {
    await retryUntil(
      () => nodeCall(replica, "INFO", "replication") as Promise<string>,
      (info) => /master_link_status:up/.test(info),
      () => new HarnessError("HARNESS_ERR_REDIS_SENTINEL", `replica ${replica.host}:${replica.port} did not sync with its primary within ${READY_TIMEOUT_MS}ms`),
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: POLL_MS },
    );
  }

  /** Stops the sentinels first (so none promotes anything during teardown), then the data nodes. */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      const sentinels = await Promise.allSettled(this.#sentinels.map((node) => node.stop()));
      const nodes = await Promise.allSettled(this.#nodes.map((node) => node.stop()));
      await removeTempDir(this.#dir);
      const errors = [...sentinels, ...nodes].flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
      if (errors.length > 0) throw new AggregateError(errors, `stopping ${errors.length} process(es) of the Sentinel group failed`);
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** One command on a node through a short-lived connection (no retries: a dead node rejects at once). */
async function nodeCall(node: NodeAddress, command: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: COMMAND_TIMEOUT_MS, connectTimeout: COMMAND_TIMEOUT_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

function sentinelCall(sentinel: NodeAddress, ...args: string[]): Promise<unknown> {
  return nodeCall(sentinel, "SENTINEL", ...args);
}

/** `[k1, v1, k2, v2, ...]` → `{ k1: v1, ... }`. */
function pairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

/** Bytes of the primary's replication stream the replica has not acknowledged, read just before the kill. */
async function replicationLag(primary: NodeAddress, replica: NodeAddress): Promise<number> {
  const [p, r] = (await Promise.all([nodeCall(primary, "INFO", "replication"), nodeCall(replica, "INFO", "replication")])) as [string, string];
  const offset = (info: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? NaN);
  const lag = offset(p, "master_repl_offset") - offset(r, "slave_repl_offset");
  return Number.isFinite(lag) ? Math.max(0, lag) : NaN;
}
