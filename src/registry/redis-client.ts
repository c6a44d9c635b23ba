import { Cluster, Redis } from "ioredis";
import { RegistryArgumentError, RegistryUnavailableError, TrafficCopError } from "../errors.js";
import { parseNatMap, parseRedisAddresses, type RedisNodeAddress } from "./redis-address.js";

/** A Redis connection of the registry and the gateway: one standalone server or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions {
  /** Treat the URL as a comma list of Redis Cluster nodes (the gateway's `REDIS_CLUSTER=1`). @default false */
  cluster?: boolean;
  /** A command without a reply within this many milliseconds rejects (`REGISTRY_ERR_UNAVAILABLE`). @default 1000 */
  commandTimeoutMs?: number;
  /** How long one connection attempt may take, in milliseconds. @default 2000 */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts, in milliseconds; reconnection never gives up. @default 500 */
  maxReconnectDelayMs?: number;
  /**
   * Batch concurrent commands into pipelines (ioredis auto-pipelining). A command then waits for the previous
   * pipeline of its slot to settle before it is sent and its timeout starts: against an unresponsive Redis a
   * command fails only after up to twice `commandTimeoutMs`. The gateway turns it off. @default true
   */
  autoPipelining?: boolean;
  /** `CLIENT SETNAME` of the connection(s), e.g. the instance id. @default undefined */
  connectionName?: string;
  /** Connect on the first command instead of at once. @default false */
  lazyConnect?: boolean;
  /**
   * Redis Sentinel: ask these sentinels for the primary of {@link sentinelName} instead of connecting to the URL's
   * node, and follow it across failovers (the gateway's `REDIS_SENTINELS`). Not with `cluster`. @default undefined
   */
  sentinels?: readonly RedisNodeAddress[];
  /** Name of the monitored primary the sentinels know (`REDIS_SENTINEL_NAME`). @default "traffic-cop" */
  sentinelName?: string;
  /**
   * Address translation of the nodes that Redis announces (cluster nodes, or the primary a sentinel names):
   * `"host:port"` as announced → the address to connect to instead, e.g. a proxy in front of that node
   * (`REDIS_NAT_MAP`). Announced addresses missing from the map are used as they are. @default undefined
   */
  natMap?: Readonly<Record<string, RedisNodeAddress>>;
}

/** Defaults of {@link RedisClientOptions}. */
export const DEFAULT_REDIS_CLIENT_OPTIONS: Readonly<Required<Omit<RedisClientOptions, OptionalRedisClientOption>>> = Object.freeze({
  cluster: false,
  sentinelName: "traffic-cop",
  commandTimeoutMs: 1_000,
  connectTimeoutMs: 2_000,
  maxReconnectDelayMs: 500,
  autoPipelining: true,
  lazyConnect: false,
});

type OptionalRedisClientOption = "connectionName" | "sentinels" | "natMap";

/** {@link RedisClientOptions} with every default applied. */
export type ResolvedRedisClientOptions = Readonly<Required<Omit<RedisClientOptions, OptionalRedisClientOption>> & Pick<RedisClientOptions, OptionalRedisClientOption>>;

/** Applies defaults and validates; throws `TypeError` stating the rule that a value breaks. */
export function resolveRedisClientOptions(options: RedisClientOptions = {}): ResolvedRedisClientOptions {
  const resolved = { ...DEFAULT_REDIS_CLIENT_OPTIONS, ...stripUndefined(options) };
  for (const name of ["commandTimeoutMs", "connectTimeoutMs", "maxReconnectDelayMs"] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer of milliseconds, got ${value}`);
  }
  if (resolved.sentinels !== undefined) {
    if (resolved.cluster) throw new TypeError("sentinels and cluster exclude each other: a Sentinel-monitored primary is not a Redis Cluster");
    if (resolved.sentinels.length === 0) throw new TypeError("sentinels must list at least one sentinel address");
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(resolved.sentinelName)) throw new TypeError(`sentinelName must be 1-128 characters of [A-Za-z0-9._-], got ${JSON.stringify(resolved.sentinelName)}`);
  return Object.freeze(resolved);
}

export type { RedisNodeAddress };

/**
 * Parses `redis://host:port` (or, for a cluster, a comma list of them) into node addresses.
 * Throws {@link RegistryArgumentError} naming the bad part.
 */
export function parseRedisUrls(url: string): RedisNodeAddress[] {
  const parts = url.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length === 0) throw new RegistryArgumentError(`REDIS_URL is empty: use redis://host:port`);
  return parts.map((part) => {
    let parsed: URL;
    try {
      parsed = new URL(part);
    } catch (error) {
      throw new RegistryArgumentError(`REDIS_URL part ${JSON.stringify(part)} is not a URL: use redis://host:port`, { cause: error });
    }
    if (parsed.protocol !== "redis:") {
      throw new RegistryArgumentError(`REDIS_URL part ${JSON.stringify(part)} must use the redis:// scheme`);
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
    const port = parsed.port === "" ? 6379 : Number(parsed.port);
    return { host, port };
  });
}

/** `MOVED <slot> <host>:<port>` as Redis Cluster answers a command sent to a node that does not own its slot. */
const MOVED_REPLY = /^MOVED (\d+) (\S+)/;

/**
 * An ioredis `Cluster` whose `MOVED` redirections honour `natMap`. ioredis 6.0.0 writes the address a `MOVED` names
 * into its slot table as Redis announced it, while its connection pool (and every slot-table entry from `CLUSTER
 * SLOTS`) uses the mapped address: the redirected command, and every later command of the slot's whole range (the
 * range shares one array that the redirect overwrites), find no connection under that key and go to a random
 * master instead, which answers `MOVED` again and overwrites the range again. After a failover behind proxies this
 * fed itself until it ran out of redirections or time: commands failed (REGISTRY_UNAVAILABLE) for many seconds
 * after the promotion, also on the slots that never moved. Translating the address before ioredis records it
 * keeps the table in the pool's terms; the mapped address then maps to itself.
 * @internal
 */
class NatMappedCluster extends Cluster {
  override handleError(error: Error, ttl: { value?: unknown }, handlers: { moved(slot: number | string, key: string): void; [name: string]: unknown }): void {
    const natMap = this.options.natMap;
    const moved = MOVED_REPLY.exec(error.message);
    const target = moved && natMap !== undefined && typeof natMap === "object" ? natMap[moved[2]!] : undefined;
    if (target === undefined) return super.handleError(error, ttl, handlers);
    const mappedKey = `${target.host}:${target.port}`;
    super.handleError(error, ttl, { ...handlers, moved: (slot: number | string) => handlers.moved(slot, mappedKey) });
  }
}

/**
 * Creates a Redis client tuned to fail fast: every command has a bounded timeout, commands issued while
 * disconnected reject at once instead of queueing without bound, and reconnection keeps trying with a short, capped
 * delay so the client recovers by itself when Redis returns. Errors of the returned client are raw ioredis errors;
 * map them with {@link toRegistryError}. The client's `error` events are consumed (failures surface on commands).
 *
 * Commands sent before the first connection is ready reject: wait with {@link waitForRedisReady} where that matters.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): RedisClient {
  const resolved = resolveRedisClientOptions(options);
  const nodes = parseRedisUrls(url);
  const retryStrategy = (times: number) => Math.min(50 * times, resolved.maxReconnectDelayMs);
  const common = {
    commandTimeout: resolved.commandTimeoutMs,
    connectTimeout: resolved.connectTimeoutMs,
    // Commands in flight when a connection drops fail with it rather than wait for a reconnection.
    maxRetriesPerRequest: 0,
    enableAutoPipelining: resolved.autoPipelining,
    lazyConnect: resolved.lazyConnect,
    ...(resolved.connectionName === undefined ? {} : { connectionName: resolved.connectionName }),
  };
  let client: RedisClient;
  if (resolved.cluster) {
    client = new NatMappedCluster(nodes, {
      enableOfflineQueue: false,
      enableAutoPipelining: resolved.autoPipelining,
      lazyConnect: resolved.lazyConnect,
      clusterRetryStrategy: retryStrategy,
      clusterNodeRetryStrategy: retryStrategy,
      slotsRefreshTimeout: resolved.connectTimeoutMs,
      ...(resolved.natMap === undefined ? {} : { natMap: { ...resolved.natMap } }),
      redisOptions: {
        commandTimeout: common.commandTimeout,
        connectTimeout: common.connectTimeout,
        maxRetriesPerRequest: 0,
        ...(resolved.connectionName === undefined ? {} : { connectionName: resolved.connectionName }),
      },
    });
  } else if (resolved.sentinels !== undefined) {
    client = new Redis({
      ...common,
      sentinels: resolved.sentinels.map((node) => ({ ...node })),
      name: resolved.sentinelName,
      role: "master",
      ...(resolved.natMap === undefined ? {} : { natMap: { ...resolved.natMap } }),
      // Ask the sentinels again soon after losing the primary: the replica is promoted within a few seconds.
      sentinelRetryStrategy: retryStrategy,
      // No failoverDetector: in ioredis 6.0.0 its +switch-master handler ends the connector while a reconnection
      // is resolving the primary (after the old one died), and that attempt then fails with "Connection is closed."
      // and the client never reconnects (seen in `npm run scenario sentinel`). A primary that dies drops the
      // connection anyway; one demoted alive answers writes with READONLY, which reconnects below.
      reconnectOnError: (error: Error) => (error.message.startsWith("READONLY") ? 2 : false),
      sentinelCommandTimeout: resolved.commandTimeoutMs,
      enableOfflineQueue: false,
      retryStrategy,
    });
  } else {
    if (nodes.length !== 1) {
      throw new RegistryArgumentError(`REDIS_URL lists ${nodes.length} nodes; set REDIS_CLUSTER=1 (cluster: true) for a cluster`);
    }
    client = new Redis({ ...nodes[0]!, ...common, enableOfflineQueue: false, retryStrategy });
  }
  client.on("error", () => {
    // Connection errors are reported through the commands that fail; without a listener ioredis logs every retry.
  });
  return client;
}

/**
 * Creates a client from the gateway's environment: `REDIS_URL` (default `redis://127.0.0.1:6379`),
 * `REDIS_CLUSTER=1`, `REDIS_SENTINELS` with `REDIS_SENTINEL_NAME`, and `REDIS_NAT_MAP`. Reads the environment
 * when called, never at import time.
 */
export function createRedisClientFromEnv(env: NodeJS.ProcessEnv = process.env, options: Omit<RedisClientOptions, "cluster" | "sentinels" | "sentinelName" | "natMap"> = {}): RedisClient {
  const url = env.REDIS_URL || "redis://127.0.0.1:6379";
  const cluster = env.REDIS_CLUSTER === "1" || env.REDIS_CLUSTER === "true";
  return createRedisClient(url, {
    ...options,
    cluster,
    ...(env.REDIS_SENTINELS ? { sentinels: parseRedisAddresses(env.REDIS_SENTINELS) } : {}),
    ...(env.REDIS_SENTINEL_NAME ? { sentinelName: env.REDIS_SENTINEL_NAME } : {}),
    ...(env.REDIS_NAT_MAP ? { natMap: parseNatMap(env.REDIS_NAT_MAP) } : {}),
  });
}

/** Resolves once `client` is ready, or rejects with `REGISTRY_ERR_UNAVAILABLE` after `timeoutMs`. */
export async function waitForRedisReady(client: RedisClient, timeoutMs = 5_000): Promise<void> {
  if (client.status === "ready") return;
  if (client.status === "wait") void client.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new RegistryUnavailableError(`Redis was not ready within ${timeoutMs}ms (status ${client.status})`));
    }, timeoutMs);
    client.once("ready", onReady);
  });
}

/** Whether `client` currently has a ready connection (for readiness probes; no round trip). */
export function isRedisReady(client: RedisClient): boolean {
  return client.status === "ready";
}

/**
 * Normalises an error from ioredis into a {@link TrafficCopError}: errors that already are one pass through;
 * everything else (connection refused or closed, command timeout, offline, cluster down, a script error) becomes
 * {@link RegistryUnavailableError} with the original as `cause`.
 */
export function toRegistryError(error: unknown, operation: string): TrafficCopError {
  if (error instanceof TrafficCopError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new RegistryUnavailableError(`registry ${operation} failed: Redis unavailable or too slow (${detail})`, { cause: error });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
