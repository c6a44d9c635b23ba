import type { GatewayBackend } from "./gateway-types.js";
import type { ResolvedGatewayOptions } from "./gateway-options.js";
import { LocalClusterBus } from "./cluster-bus.js";
import { createFailpoints } from "./failpoints.js";

/**
 * Builds the registry and cluster bus that `options.registry` selects. Loaded lazily by {@link GatewayServer} so
 * that the `memory` variant never loads ioredis.
 */
export async function createGatewayBackend(options: ResolvedGatewayOptions): Promise<GatewayBackend> {
  if (options.registry === "memory") {
    const { MemoryConnectionRegistry } = await import("../registry/memory-connection-registry.js");
    return { registry: new MemoryConnectionRegistry({ connectionTtlMs: options.connectionTtlMs }), bus: new LocalClusterBus() };
  }
  const [{ createRedisClient }, { RedisConnectionRegistry }, { RedisClusterBus }] = await Promise.all([
    import("../registry/redis-client.js"),
    import("../registry/redis-connection-registry.js"),
    import("./redis-cluster-bus.js"),
  ]);
  const clientOptions = {
    cluster: options.redisCluster,
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
  const registry = new RedisConnectionRegistry(client, {
    connectionTtlMs: options.connectionTtlMs,
    closeClient: true,
    negativeControls: { keepAgentTypeMember: failpoints.enabled("stale-index"), reverseWithoutTtl: failpoints.enabled("keys-no-ttl") },
  });
  return { registry, bus: new RedisClusterBus(options.instanceId, registry.keys, client, subscriber) };
}
