import type { ConnectionCounts, ConnectionRecord } from "./connection-registry.js";
import { RECORD_FIELDS } from "./lua-scripts.js";
import { GLOBAL_INDEX_KINDS } from "./keys.js";
import { callRegistry, type RedisRegistryContext } from "./redis-registry-context.js";
import { byWebsocketId, parseRecord } from "./redis-replies.js";

/**
 * The reads and maintenance of `RedisConnectionRegistry` that walk the global indexes instead of one session:
 * an instance's connections (for the reaper), counts and the sweep of expired index members.
 */

/** The live records held by `instanceId`, sorted by websocket id. */
export async function listInstanceConnections(ctx: RedisRegistryContext, instanceId: string): Promise<ConnectionRecord[]> {
  const now = ctx.now();
  return callRegistry("listInstanceConnections", async () => {
    const ids = await ctx.client.zrangebyscore(ctx.keys.instanceIndex(instanceId), `(${now}`, "+inf");
    const sessions = await Promise.all(ids.map((w) => ctx.client.get(ctx.keys.reverse(w))));
    const rows = await Promise.all(
      ids.map((w, i) => (sessions[i] ? ctx.client.hmget(ctx.keys.connection(sessions[i]!, w), ...RECORD_FIELDS) : null)),
    );
    return rows
      .flatMap((row) => (row ? parseRecord(row, now) ?? [] : []))
      .filter((record) => record.instance_id === instanceId)
      .sort(byWebsocketId);
  });
}

/** Counts members of the instance and tenant indexes scored in the future (ZCOUNT; no per-record reads). */
export async function countConnections(ctx: RedisRegistryContext): Promise<ConnectionCounts> {
  const now = ctx.now();
  return callRegistry("counts", async () => {
    const countKind = async (kind: "instance" | "tenant") => {
      const names = await ctx.client.zrangebyscore(ctx.keys.indexNames(kind), `(${now}`, "+inf");
      const values = await Promise.all(names.map((name) => ctx.client.zcount(ctx.keys.globalIndex(kind, name), `(${now}`, "+inf")));
      const result: Record<string, number> = {};
      names.forEach((name, i) => {
        if (values[i]! > 0) result[name] = values[i]!;
      });
      return result;
    };
    const [byInstance, byTenant] = await Promise.all([countKind("instance"), countKind("tenant")]);
    const total = Object.values(byTenant).reduce((sum, n) => sum + n, 0);
    return { total, byInstance, byTenant };
  });
}

/**
 * Prunes expired members from every global index reachable through the name registries (no keyspace scan), and
 * names whose indexes hold no live member. Resolves with how many members were removed.
 */
export async function sweepIndexes(ctx: RedisRegistryContext): Promise<number> {
  const now = ctx.now();
  return callRegistry("sweep", async () => {
    const removed = await Promise.all(
      GLOBAL_INDEX_KINDS.map(async (kind) => {
        const names = await ctx.client.zrange(ctx.keys.indexNames(kind), "0", "-1");
        const counts = await Promise.all(names.map((name) => ctx.client.zremrangebyscore(ctx.keys.globalIndex(kind, name), "-inf", now)));
        await ctx.client.zremrangebyscore(ctx.keys.indexNames(kind), "-inf", now);
        return counts.reduce((sum, n) => sum + n, 0);
      }),
    );
    return removed.reduce((sum, n) => sum + n, 0);
  });
}
