import { Cluster } from "ioredis";
import { DEFAULT_KEY_PREFIX, RegistryKeys } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { assertTtlMs } from "./validation.js";

/** Options of `RedisConnectionRegistry`. */
export interface RedisConnectionRegistryOptions {
  /** Prefix of every key; give each test or run its own to isolate it. @default "traffic_cop" */
  keyPrefix?: string;
  /**
   * Session-scoped keys carry the session id as a hash tag (`{S}`). Required (and the default) on Redis Cluster;
   * on standalone Redis it selects the cluster key form. @default true for a Cluster client, else false
   */
  hashTags?: boolean;
  /** TTL of a connection record without heartbeat, in milliseconds (the gateway's `CONNECTION_TTL_MS`). @default 30000 */
  connectionTtlMs?: number;
  /**
   * TTL of a session's owner and state keys, in milliseconds, refreshed by every write and heartbeat in the session.
   * Session state outlives connections and restarts for this long. @default 86400000 (24 h)
   */
  sessionTtlMs?: number;
  /** Most connections refreshed by one heartbeat script; bigger batches are split and sent together. @default 1000 */
  heartbeatBatchSize?: number;
  /**
   * Standalone Redis: concurrent registrations (and, separately, session lookups) issued in the same tick are sent as
   * one script of at most this many; each registration stays atomic. 1 disables batching. Cluster: always 1.
   * @default 500
   */
  maxBatchSize?: number;
  /**
   * Clock for `now` (epoch ms), passed to the scripts: record liveness and index scores are judged against it.
   * Inject one to drive expiry in tests. @default Date.now
   */
  clock?: () => number;
  /** Close the Redis client on `close()`. @default false (true when created by `RedisConnectionRegistry.fromUrl`) */
  closeClient?: boolean;
  /**
   * @internal Deliberate defects for the harness's negative controls only, set by the gateway from its failpoints
   * (src/gateway/failpoints.ts): `keepAgentTypeMember` (failpoint `stale-index`) leaves the agent type index member
   * behind on unregister; `reverseWithoutTtl` (failpoint `keys-no-ttl`) leaves the reverse index without TTL after
   * every write and refresh. @default {} (none)
   */
  negativeControls?: RegistryNegativeControls;
}

/** @internal See {@link RedisConnectionRegistryOptions.negativeControls}. */
export interface RegistryNegativeControls {
  readonly keepAgentTypeMember?: boolean;
  readonly reverseWithoutTtl?: boolean;
}

/** Defaults of {@link RedisConnectionRegistryOptions}; `hashTags` depends on the client. */
export const DEFAULT_REDIS_CONNECTION_REGISTRY_OPTIONS = Object.freeze({
  keyPrefix: DEFAULT_KEY_PREFIX,
  connectionTtlMs: 30_000,
  sessionTtlMs: 86_400_000,
  heartbeatBatchSize: 1_000,
  maxBatchSize: 500,
  clock: Date.now,
  closeClient: false,
  negativeControls: Object.freeze({}) as RegistryNegativeControls,
});

/** {@link RedisConnectionRegistryOptions} with every default applied. */
export type ResolvedRedisConnectionRegistryOptions = Readonly<Required<RedisConnectionRegistryOptions>>;

/** Applies defaults for `client` and validates; throws `TypeError` stating the rule that an option breaks. */
export function resolveRedisConnectionRegistryOptions(
  client: RedisClient,
  options: RedisConnectionRegistryOptions = {},
): ResolvedRedisConnectionRegistryOptions {
  const cluster = client instanceof Cluster;
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const resolved: Required<RedisConnectionRegistryOptions> = {
    ...DEFAULT_REDIS_CONNECTION_REGISTRY_OPTIONS,
    hashTags: cluster,
    ...defined,
  };
  if (cluster && !resolved.hashTags) throw new TypeError("hashTags must be true on Redis Cluster: a session's keys must share one slot");
  for (const name of ["connectionTtlMs", "sessionTtlMs", "heartbeatBatchSize", "maxBatchSize"] as const) {
    if (!Number.isSafeInteger(resolved[name]) || resolved[name] <= 0) {
      throw new TypeError(`${name} must be a positive integer, got ${String(resolved[name])}`);
    }
  }
  try {
    assertTtlMs("connectionTtlMs", resolved.connectionTtlMs);
    assertTtlMs("sessionTtlMs", resolved.sessionTtlMs);
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  if (typeof resolved.clock !== "function") throw new TypeError("clock must be a function returning epoch milliseconds");
  // Validates the prefix.
  new RegistryKeys(resolved.keyPrefix, resolved.hashTags);
  return Object.freeze(resolved);
}
