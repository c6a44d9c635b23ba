/**
 * The Redis of a local topology, whatever its mode: a standalone server, a Redis Cluster, or a Sentinel group.
 * It says which nodes need a proxy per gateway, what Redis environment a gateway gets given its proxies, and runs
 * the Redis-wide faults the mode allows (restart with data loss, failover).
 */
import { HarnessError } from "../errors.js";
import type { ToxiproxyProxy } from "../faults/toxiproxy-faults.js";
import { failoverClusterMaster } from "./cluster-failover.js";
import { RedisCluster, RedisServer, type StartedRedisCluster, type StartedRedisServer } from "./redis-server.js";
import { RedisSentinelGroup, SENTINEL_MASTER_NAME, type FailoverReport, type StartedRedisSentinelGroup } from "./redis-sentinel.js";
import type { RedisEndpoint, RedisMode } from "./runtime.js";
import type { TeardownItem } from "./teardown.js";

/** A started Redis of any mode. */
export class LocalRedis {
  readonly mode: RedisMode;
  #server?: StartedRedisServer;
  readonly #cluster?: StartedRedisCluster;
  readonly #sentinel?: StartedRedisSentinelGroup;
  readonly #runId: string;

  private constructor(mode: RedisMode, runId: string, parts: { server?: StartedRedisServer; cluster?: StartedRedisCluster; sentinel?: StartedRedisSentinelGroup }) {
    this.mode = mode;
    this.#runId = runId;
    if (parts.server) this.#server = parts.server;
    if (parts.cluster) this.#cluster = parts.cluster;
    if (parts.sentinel) this.#sentinel = parts.sentinel;
  }

  /** Starts Redis in `mode` on `host`, tagged with `runId`. */
  static async start(mode: RedisMode, runId: string, host: string): Promise<LocalRedis> {
    if (mode === "cluster") return new LocalRedis(mode, runId, { cluster: await new RedisCluster({ runId, host, replicas: 1 }).start() });
    if (mode === "sentinel") return new LocalRedis(mode, runId, { sentinel: await new RedisSentinelGroup({ runId, host }).start() });
    return new LocalRedis(mode, runId, { server: await new RedisServer({ runId, host }).start() });
  }

  /** Direct address of Redis (never through a proxy); `nodes` are the data nodes each gateway gets a proxy to. */
  get endpoint(): RedisEndpoint {
    if (this.#cluster) return { mode: "cluster", url: this.#cluster.url, nodes: this.#cluster.startupNodes };
    if (this.#sentinel) {
      const sentinels = this.#sentinel.sentinels;
      return {
        mode: "sentinel",
        url: `sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(",")}/${SENTINEL_MASTER_NAME}`,
        nodes: this.#sentinel.nodes,
        sentinels,
        sentinelName: SENTINEL_MASTER_NAME,
      };
    }
    const server = this.#server!;
    return { mode: "standalone", url: server.url, nodes: [{ host: server.host, port: server.port }] };
  }

  /**
   * The Redis environment of one gateway whose `proxies` front {@link endpoint}'s nodes, in order. On a cluster and
   * on Sentinel, `REDIS_NAT_MAP` sends the gateway to the proxy of every node Redis announces, so proxy faults keep
   * applying after the client has learnt the topology; the sentinels themselves are reached directly.
   */
  gatewayVars(proxies: readonly ToxiproxyProxy[]): Record<string, string> {
    const nodes = this.endpoint.nodes;
    const natMap = nodes.map((node, i) => `${node.host}:${node.port}=${proxies[i]!.listen}`).join(",");
    if (this.#cluster) return { REDIS_URL: proxies.map((proxy) => `redis://${proxy.listen}`).join(","), REDIS_CLUSTER: "1", REDIS_NAT_MAP: natMap };
    if (this.#sentinel) {
      return {
        REDIS_URL: `redis://${proxies[0]!.listen}`,
        REDIS_SENTINELS: this.#sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(","),
        REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
        REDIS_NAT_MAP: natMap,
      };
    }
    return { REDIS_URL: `redis://${proxies[0]!.listen}` };
  }

  /** Restarts a standalone Redis empty on its port (SIGKILL, then a fresh server); resolves with how long it was down. */
  async restart(onKilled?: () => void): Promise<{ downMs: number }> {
    if (!this.#server) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `Redis restart is available for standalone Redis only (not for ${this.mode})`);
    const { host, port } = this.#server;
    const t0 = Date.now();
    await this.#server.kill();
    onKilled?.();
    this.#server = await new RedisServer({ runId: this.#runId, host, port }).start();
    return { downMs: Date.now() - t0 };
  }

  /** Kills the primary (Sentinel), or a master with a replica (Cluster), and waits for the replica to take over. */
  async failover(): Promise<FailoverReport> {
    if (this.#cluster) return failoverClusterMaster(this.#cluster);
    if (!this.#sentinel) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `a Redis failover needs --redis sentinel or cluster (this topology runs ${this.mode})`);
    return this.#sentinel.failover();
  }

  /** The teardown item(s) of this Redis. */
  teardown(): TeardownItem[] {
    if (this.#cluster) return [{ name: "redis cluster", stop: () => this.#cluster!.stop() }];
    if (this.#sentinel) return [{ name: "redis sentinel group", stop: () => this.#sentinel!.stop() }];
    return [{ name: `redis ${this.#server!.port}`, stop: () => this.#server!.stop() }];
  }
}
