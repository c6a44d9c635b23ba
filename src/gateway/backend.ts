import type { ResolvedGatewayOptions } from "./gateway-options.js";
import { LocalClusterBus } from "./cluster-bus.js";
import type { Cluster, Redis } from "ioredis";
import type { RedisClient } from "../registry/redis-client.js";
// Only types of ioredis: loading it here does not load ioredis for the memory variant.
import { ClusterLinkWatchdog } from "../registry/cluster-link-watchdog.js";
import { RedisLinkWatchdog } from "../registry/redis-link-watchdog.js";
import { createFailpoints, type Failpoints } from "./failpoints.js";
import type { GatewayBackend } from "./gateway-types.js";

/**
 * Builds the registry and cluster bus that `options.registry` selects. Loaded lazily by {@link GatewayServer} so
 * that the `memory` variant never loads ioredis.
 */
export async function createGatewayBackend(options: ResolvedGatewayOptions, onSilentLink: (connection: string, silentMs: number) => void = () => undefined): Promise<GatewayBackend> {
  if (options.registry === "memory") {
    const { MemoryConnectionRegistry } = await import("../registry/memory-connection-registry.js");
    return { registry: new MemoryConnectionRegistry({ connectionTtlMs: options.connectionTtlMs }), bus: new LocalClusterBus() };
  }
  const [{ createRedisClient }, { RedisConnectionRegistry }, { RedisClusterBus }, { RedisTimeClock }] = await Promise.all([
    import("../registry/redis-client.js"),
    import("../registry/redis-connection-registry.js"),
    import("./redis-cluster-bus.js"),
    import("../registry/redis-time-clock.js"),
  ]);
  const clientOptions = {
    cluster: options.redisCluster,
    // Failpoint `pinned-primary`: no sentinels, so the clients stay on REDIS_URL's node whatever it becomes.
    ...(options.redisSentinels.length > 0 && !createFailpoints(options.defects).enabled("pinned-primary") ? { sentinels: options.redisSentinels, sentinelName: options.redisSentinelName } : {}),
    ...(Object.keys(options.redisNatMap).length > 0 ? { natMap: options.redisNatMap } : {}),
    commandTimeoutMs: options.redisCommandTimeoutMs,
    connectionName: options.instanceId,
    // Fail fast: with auto-pipelining a command waits for the previous pipeline of its slot before it is even sent
    // (and its timeout starts), so against a black-holed Redis a lookup failed after twice the command timeout.
    // Commands are still written without waiting for earlier replies. On standalone Redis the registry batches its
    // hot paths itself (one script per tick) and `npm run bench -- gateway` showed no loss; Cluster is unmeasured.
    autoPipelining: false,
  };
  const client = createRedisClient(options.redisUrl, clientOptions);
  const subscriber = createRedisClient(options.redisUrl, { ...clientOptions, autoPipelining: false });
  const failpoints = createFailpoints(options.defects);
  const watchdogs = watchLinks(options, failpoints, { commands: client, subscriber }, onSilentLink);
  const negativeControls = { keepAgentTypeMember: failpoints.enabled("stale-index"), reverseWithoutTtl: failpoints.enabled("keys-no-ttl") };
  // Expiry scores, `expires_at` and liveness deadlines are judged on Redis's clock, so that one instance's skewed
  // wall clock neither expires others' live records nor keeps dead ones (docs/registry.md, "Liveness and expiry").
  // Failpoint `wall-clock-expiry`: the instance's own wall clock instead.
  if (failpoints.enabled("wall-clock-expiry")) {
    const registry = new RedisConnectionRegistry(client, { connectionTtlMs: options.connectionTtlMs, closeClient: true, clock: Date.now, negativeControls });
    return { registry, bus: new RedisClusterBus(options.instanceId, registry.keys, client, subscriber, Date.now), release: () => watchdogs.forEach((w) => w.stop()) };
  }
  const clock = new RedisTimeClock(client).start();
  const registry = new RedisConnectionRegistry(client, { connectionTtlMs: options.connectionTtlMs, closeClient: true, clock: clock.now, negativeControls });
  return {
    registry,
    bus: new RedisClusterBus(options.instanceId, registry.keys, client, subscriber, clock.now),
    sync: () => clock.sync(),
    release: () => {
      clock.stop();
      watchdogs.forEach((w) => w.stop());
    },
  };
}

/**
 * Starts a {@link RedisLinkWatchdog} on each standalone or Sentinel connection, and a {@link ClusterLinkWatchdog} on
 * each Cluster client (every node connection and its subscriber's), so that a connection gone silent without a reset
 * is dropped and connected again. Silent for three command timeouts: by then every command sent on it has failed to
 * its caller, and a ping went unanswered (the watchdog pings an idle connection every command timeout). Failpoint
 * `no-link-watchdog`: none.
 */
function watchLinks(
  options: ResolvedGatewayOptions,
  failpoints: Failpoints,
  connections: Record<string, RedisClient>,
  onSilent: (connection: string, silentMs: number) => void,
): { stop(): void }[] {
  if (failpoints.enabled("no-link-watchdog")) return [];
  return Object.entries(connections).map(([name, connection]) => {
    const watch = { silenceTimeoutMs: 3 * options.redisCommandTimeoutMs, checkIntervalMs: options.redisCommandTimeoutMs, onSilent: (silentMs: number) => onSilent(name, silentMs) };
    return options.redisCluster ? new ClusterLinkWatchdog(connection as Cluster, watch).start() : new RedisLinkWatchdog(connection as Redis, watch).start();
  });
}
