/** The reference system's public API: the connection registry and the gateway. Explicit named exports only. */
export type {
  ConnectionCounts,
  ConnectionFilter,
  ConnectionRecord,
  ConnectionRegistry,
  HeartbeatEntry,
  HeartbeatResult,
  RegisterOptions,
  RepointResult,
  SessionState,
} from "./registry/connection-registry.js";
export { DEFAULT_KEY_PREFIX, GLOBAL_INDEX_KINDS, RegistryKeys, type GlobalIndexKind } from "./registry/keys.js";
export {
  DEFAULT_REDIS_CONNECTION_REGISTRY_OPTIONS,
  RedisConnectionRegistry,
  resolveRedisConnectionRegistryOptions,
  type RedisConnectionRegistryOptions,
  type ResolvedRedisConnectionRegistryOptions,
} from "./registry/redis-connection-registry.js";
export {
  DEFAULT_MEMORY_CONNECTION_REGISTRY_OPTIONS,
  MemoryConnectionRegistry,
  resolveMemoryConnectionRegistryOptions,
  type MemoryConnectionRegistryOptions,
  type ResolvedMemoryConnectionRegistryOptions,
} from "./registry/memory-connection-registry.js";
export {
  DEFAULT_REDIS_CLIENT_OPTIONS,
  createRedisClient,
  createRedisClientFromEnv,
  isRedisReady,
  parseRedisUrls,
  resolveRedisClientOptions,
  toRegistryError,
  waitForRedisReady,
  type RedisClient,
  type RedisClientOptions,
  type RedisNodeAddress,
  type ResolvedRedisClientOptions,
} from "./registry/redis-client.js";
export { parseNatMap, parseRedisAddresses } from "./registry/redis-address.js";
export { MAX_HEARTBEAT_ENTRIES, MAX_ID_LENGTH, MAX_TTL_MS } from "./registry/validation.js";
export {
  RegistryArgumentError,
  RegistryClosedError,
  RegistryForbiddenError,
  RegistryUnavailableError,
  TrafficCopError,
  type TrafficCopErrorCode,
} from "./errors.js";
export {
  GatewayServer,
  type GatewayBackend,
  type GatewayState,
  type RouteResult,
} from "./gateway/gateway-server.js";
export {
  DEFAULT_GATEWAY_OPTIONS,
  GATEWAY_DEFECTS,
  gatewayOptionsFromEnv,
  resolveGatewayOptions,
  type GatewayDefect,
  type GatewayOptions,
  type ResolvedGatewayOptions,
} from "./gateway/gateway-options.js";
export { TokenError, signJwt, verifyJwt, type TokenClaims } from "./gateway/jwt.js";
export {
  CLOSE_CODES,
  HTTP_STATUS,
  ProtocolError,
  parseClientFrame,
  type ClientFrame,
  type FrameId,
  type PingFrame,
  type ProtocolErrorCode,
  type RouteFrame,
  type RouteTarget,
  type SessionStateFrame,
} from "./gateway/protocol.js";
export { GatewayMetrics } from "./gateway/metrics.js";
export { FAILPOINTS, NO_FAILPOINTS, createFailpoints, type FailpointSpec, type Failpoints } from "./gateway/failpoints.js";
export type { ClusterBus, ClusterBusEvents, BusMessage, DeliverRequest, DeliverReply, EvictNotice } from "./gateway/cluster-bus.js";
