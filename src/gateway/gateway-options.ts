import { hostname } from "node:os";
import { TrafficCopError } from "../errors.js";
import { GATEWAY_DEFECTS, type GatewayDefect } from "./failpoints.js";
import { parseNatMap, parseRedisAddresses, type RedisNodeAddress } from "../registry/redis-address.js";

export { GATEWAY_DEFECTS, type GatewayDefect };

/** Options of a {@link GatewayServer}. Every field is optional except `authSecret`; see docs/design.md's configuration table. */
export interface GatewayOptions {
  /** HTTP and WebSocket port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Bind address. @default "127.0.0.1" */
  host?: string;
  /** `redis://host:port`, or a comma list of cluster nodes when `redisCluster` is set. @default "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** Treat `redisUrl` as a comma list of Redis Cluster nodes. @default false */
  redisCluster?: boolean;
  /**
   * Redis Sentinel (`REDIS_SENTINELS`, a comma list of `host:port`): the primary is the one these sentinels name
   * for `redisSentinelName`, followed across failovers; `redisUrl` is then not used. Not with `redisCluster`.
   * @default [] (no Sentinel)
   */
  redisSentinels?: readonly RedisNodeAddress[];
  /** Name of the primary the sentinels monitor (`REDIS_SENTINEL_NAME`). @default "traffic-cop" */
  redisSentinelName?: string;
  /**
   * Where to reach the nodes Redis announces (`REDIS_NAT_MAP`, `announced_host:port=host:port,...`): cluster nodes,
   * or the primary a sentinel names. Lets a proxy in front of each node stay on the path. @default {}
   */
  redisNatMap?: Readonly<Record<string, RedisNodeAddress>>;
  /** This instance's id, stored on every record it owns. @default `${hostname}-${pid}` */
  instanceId?: string;
  /** HS256 secret of client tokens. Required. */
  authSecret?: string;
  /** TTL of a connection record without heartbeat, in ms. @default 30000 */
  connectionTtlMs?: number;
  /** Period of WebSocket pings and TTL refreshes, in ms. Must be less than half of `connectionTtlMs`. @default 10000 */
  heartbeatIntervalMs?: number;
  /** How long a SIGTERM drain waits for clients to move before closing them, in ms. @default 10000 */
  drainTimeoutMs?: number;
  /** Largest accepted frame in bytes; bigger ones close the socket with 1009. @default 65536 */
  maxMessageBytes?: number;
  /**
   * Unsent bytes a socket may hold before it is shed as a slow consumer (close 4008 `SLOW_CONSUMER`); at least twice
   * `maxMessageBytes`, so that one largest frame never sheds a reader that keeps up. @default 4194304 (4 MiB), or twice `maxMessageBytes` when that is more
   */
  maxBufferedBytes?: number;
  /** Registry backend. `memory` is the seed's per-instance design, kept as a negative control. @default "redis" */
  registry?: "redis" | "memory";
  /** Sustained frames per second a socket may send before it gets `RATE_LIMITED`. @default 100 */
  rateLimitPerSec?: number;
  /** Frames a socket may send in a burst above the sustained rate. @default 200 */
  rateLimitBurst?: number;
  /** How long a remote delivery waits for the holding instance's confirmation, in ms. @default 2000 */
  remoteAckTimeoutMs?: number;
  /** Timeout of one Redis command issued by the gateway itself (liveness, pub/sub, locks), in ms. @default 1000 */
  redisCommandTimeoutMs?: number;
  /** Test-only deliberate defects (negative controls): the failpoints of failpoints.ts switched on. @default [] */
  defects?: readonly GatewayDefect[];
}

/** {@link GatewayOptions} with every default applied, validated and frozen. */
export interface ResolvedGatewayOptions extends Required<Omit<GatewayOptions, "defects">> {
  defects: ReadonlySet<GatewayDefect>;
  /** TTL of this instance's liveness key, in ms: a third of the connection TTL, at least 1000 ms. */
  livenessTtlMs: number;
  /** Period of the liveness refresh and of the dead-instance scan, in ms: a third of `livenessTtlMs`. */
  livenessIntervalMs: number;
}

/** Defaults of every optional gateway option. */
export const DEFAULT_GATEWAY_OPTIONS = Object.freeze({
  port: 8080,
  host: "127.0.0.1",
  redisUrl: "redis://127.0.0.1:6379",
  redisCluster: false,
  redisSentinels: Object.freeze([]) as readonly RedisNodeAddress[],
  redisSentinelName: "traffic-cop",
  redisNatMap: Object.freeze({}) as Readonly<Record<string, RedisNodeAddress>>,
  connectionTtlMs: 30_000,
  heartbeatIntervalMs: 10_000,
  drainTimeoutMs: 10_000,
  maxMessageBytes: 65_536,
  maxBufferedBytes: 4 * 1024 * 1024,
  registry: "redis" as const,
  rateLimitPerSec: 100,
  rateLimitBurst: 200,
  remoteAckTimeoutMs: 2_000,
  redisCommandTimeoutMs: 1_000,
});

const MIN_LIVENESS_TTL_MS = 1_000;
const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

function invalid(message: string): TrafficCopError {
  return new TrafficCopError("GATEWAY_ERR_INVALID_CONFIG", message);
}

function positiveInt(name: string, value: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
  return value;
}

/** Applies defaults to `options`, validates them and returns a frozen, complete copy. Throws `GATEWAY_ERR_INVALID_CONFIG`. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  const d = DEFAULT_GATEWAY_OPTIONS;
  if (!options.authSecret) throw invalid("AUTH_SECRET is required: set it to the HS256 secret that signs client tokens");
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}`;
  if (!ID_PATTERN.test(instanceId)) {
    throw invalid(`INSTANCE_ID must be 1-128 characters of [A-Za-z0-9._-], got ${JSON.stringify(instanceId)}`);
  }
  const connectionTtlMs = positiveInt("CONNECTION_TTL_MS", options.connectionTtlMs ?? d.connectionTtlMs, 100);
  const heartbeatIntervalMs = positiveInt("HEARTBEAT_INTERVAL_MS", options.heartbeatIntervalMs ?? d.heartbeatIntervalMs, 10);
  if (heartbeatIntervalMs * 2 > connectionTtlMs) {
    throw invalid(
      `HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs}) must be at most half of CONNECTION_TTL_MS (${connectionTtlMs}), or live records would expire between refreshes`,
    );
  }
  const registry = options.registry ?? d.registry;
  if (registry !== "redis" && registry !== "memory") throw invalid(`REGISTRY must be "redis" or "memory", got ${JSON.stringify(registry)}`);
  const maxMessageBytes = positiveInt("MAX_MESSAGE_BYTES", options.maxMessageBytes ?? d.maxMessageBytes, 64, 64 * 1024 * 1024);
  // The default grows with a large MAX_MESSAGE_BYTES, so that raising that limit alone stays a valid configuration.
  const maxBufferedBytes = positiveInt("MAX_BUFFERED_BYTES", options.maxBufferedBytes ?? Math.max(d.maxBufferedBytes, 2 * maxMessageBytes), 1, 1024 * 1024 * 1024);
  if (maxBufferedBytes < 2 * maxMessageBytes) {
    throw invalid(`MAX_BUFFERED_BYTES (${maxBufferedBytes}) must be at least twice MAX_MESSAGE_BYTES (${maxMessageBytes}), or one largest frame would shed a reader that keeps up`);
  }
  const livenessTtlMs = Math.max(MIN_LIVENESS_TTL_MS, Math.floor(connectionTtlMs / 3));
  const defects = new Set<GatewayDefect>();
  for (const defect of options.defects ?? []) {
    if (!GATEWAY_DEFECTS.includes(defect)) throw invalid(`unknown defect ${JSON.stringify(defect)}; known: ${GATEWAY_DEFECTS.join(", ")}`);
    defects.add(defect);
  }
  const redisUrl = options.redisUrl ?? d.redisUrl;
  for (const url of redisUrl.split(",")) {
    if (!/^rediss?:\/\/[^\s/]+(:\d+)?\/?\d*$/.test(url.trim())) throw invalid(`REDIS_URL must be redis://host:port (comma list with REDIS_CLUSTER=1), got ${JSON.stringify(redisUrl)}`);
  }
  if (!options.redisCluster && redisUrl.includes(",")) throw invalid("REDIS_URL holds a comma list: set REDIS_CLUSTER=1 to use Redis Cluster nodes");
  const redisSentinels = options.redisSentinels ?? d.redisSentinels;
  if (redisSentinels.length > 0 && options.redisCluster) throw invalid("REDIS_SENTINELS and REDIS_CLUSTER=1 exclude each other: a Sentinel-monitored primary is not a Redis Cluster");
  const redisSentinelName = options.redisSentinelName ?? d.redisSentinelName;
  if (!ID_PATTERN.test(redisSentinelName)) throw invalid(`REDIS_SENTINEL_NAME must be 1-128 characters of [A-Za-z0-9._-], got ${JSON.stringify(redisSentinelName)}`);
  return Object.freeze({
    port: positiveInt("PORT", options.port ?? d.port, 0, 65_535),
    host: options.host ?? d.host,
    redisUrl,
    redisCluster: options.redisCluster ?? d.redisCluster,
    redisSentinels: Object.freeze(redisSentinels.map((node) => Object.freeze({ ...node }))),
    redisSentinelName,
    redisNatMap: Object.freeze({ ...(options.redisNatMap ?? d.redisNatMap) }),
    instanceId,
    authSecret: options.authSecret,
    connectionTtlMs,
    heartbeatIntervalMs,
    drainTimeoutMs: positiveInt("DRAIN_TIMEOUT_MS", options.drainTimeoutMs ?? d.drainTimeoutMs, 0),
    maxMessageBytes,
    maxBufferedBytes,
    registry,
    rateLimitPerSec: positiveInt("rateLimitPerSec", options.rateLimitPerSec ?? d.rateLimitPerSec),
    rateLimitBurst: positiveInt("rateLimitBurst", options.rateLimitBurst ?? d.rateLimitBurst),
    remoteAckTimeoutMs: positiveInt("remoteAckTimeoutMs", options.remoteAckTimeoutMs ?? d.remoteAckTimeoutMs),
    redisCommandTimeoutMs: positiveInt("redisCommandTimeoutMs", options.redisCommandTimeoutMs ?? d.redisCommandTimeoutMs),
    defects,
    livenessTtlMs,
    livenessIntervalMs: Math.max(100, Math.floor(livenessTtlMs / 3)),
  });
}

/** Runs a parser of an environment variable, turning its argument error into `GATEWAY_ERR_INVALID_CONFIG`. */
function fromEnv<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new TrafficCopError("GATEWAY_ERR_INVALID_CONFIG", (error as Error).message, { cause: error });
  }
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d+$/.test(raw.trim())) throw invalid(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw.trim());
}

/**
 * Reads the gateway's configuration from environment variables (docs/design.md's table, plus the test-only
 * `TRAFFIC_COP_DEFECTS` comma list) and resolves it. Throws `GATEWAY_ERR_INVALID_CONFIG` naming the variable.
 */
export function gatewayOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ResolvedGatewayOptions {
  const options: GatewayOptions = {};
  const set = <K extends keyof GatewayOptions>(key: K, value: GatewayOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set("port", envInt(env, "PORT"));
  set("host", env.HOST || undefined);
  set("redisUrl", env.REDIS_URL || undefined);
  const cluster = env.REDIS_CLUSTER;
  if (cluster !== undefined && cluster !== "" && cluster !== "0" && cluster !== "1") {
    throw invalid(`REDIS_CLUSTER must be 1 or 0, got ${JSON.stringify(cluster)}`);
  }
  set("redisCluster", cluster === "1");
  set("redisSentinels", fromEnv(() => (env.REDIS_SENTINELS ? parseRedisAddresses(env.REDIS_SENTINELS) : undefined)));
  set("redisSentinelName", env.REDIS_SENTINEL_NAME || undefined);
  set("redisNatMap", fromEnv(() => (env.REDIS_NAT_MAP ? parseNatMap(env.REDIS_NAT_MAP) : undefined)));
  set("instanceId", env.INSTANCE_ID || undefined);
  set("authSecret", env.AUTH_SECRET || undefined);
  set("connectionTtlMs", envInt(env, "CONNECTION_TTL_MS"));
  set("heartbeatIntervalMs", envInt(env, "HEARTBEAT_INTERVAL_MS"));
  set("drainTimeoutMs", envInt(env, "DRAIN_TIMEOUT_MS"));
  set("maxMessageBytes", envInt(env, "MAX_MESSAGE_BYTES"));
  set("maxBufferedBytes", envInt(env, "MAX_BUFFERED_BYTES"));
  const registry = env.REGISTRY || undefined;
  if (registry !== undefined && registry !== "redis" && registry !== "memory") {
    throw invalid(`REGISTRY must be "redis" or "memory", got ${JSON.stringify(registry)}`);
  }
  set("registry", registry);
  const defects = (env.TRAFFIC_COP_DEFECTS ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  set("defects", defects as GatewayDefect[]);
  return resolveGatewayOptions(options);
}
