import type { HeartbeatEntry, HeartbeatResult } from "./connection-registry.js";
import { GLOBAL_INDEX_KINDS, type GlobalIndexKind } from "./keys.js";
import { callRegistry, type RedisRegistryContext } from "./redis-registry-context.js";
import type { GlobalFields } from "./redis-replies.js";
import type { Reply } from "./redis-scripts.js";

/**
 * The heartbeat path of `RedisConnectionRegistry`: refreshes the TTL (and optionally `last_activity_at`) of many
 * records at once; `tenant` non-empty restricts it to that tenant's records.
 *
 * Standalone: one script per batch of `heartbeatBatchSize` entries, all batches sent together (one round trip).
 * Cluster: one script per session and batch, all sent before any reply is awaited (one round trip per node),
 * then the global index refreshes of the refreshed entries (a second round trip).
 */
export async function refreshRecords(ctx: RedisRegistryContext, entries: HeartbeatEntry[], ttl: number, tenant: string, now: number): Promise<HeartbeatResult> {
  if (entries.length === 0) return { refreshed: 0, missing: [] };
  const exp = now + ttl;
  // Groups hold positions into `entries`, so `missing` keeps the callers' order whatever the grouping.
  const groups: number[][] = [];
  const size = ctx.options.heartbeatBatchSize;
  if (ctx.full) {
    for (let i = 0; i < entries.length; i += size) groups.push(entries.slice(i, i + size).map((_, k) => i + k));
  } else {
    const bySession = new Map<string, number[]>();
    entries.forEach((entry, position) => {
      const group = bySession.get(entry.session_id);
      if (group === undefined || group.length >= size) {
        const fresh = [position];
        bySession.set(entry.session_id, fresh);
        groups.push(fresh);
      } else {
        group.push(position);
      }
    });
  }
  const replies = await callRegistry("heartbeat", () =>
    Promise.all(
      groups.map((group) =>
        ctx.client.trafficCopHeartbeat(
          ctx.keys.sessionIndex(entries[group[0]!]!.session_id),
          ctx.keys.prefix, ctx.h, ctx.full ? "1" : "0", now, ttl, exp, Math.max(ctx.options.sessionTtlMs, ttl), tenant,
          ...group.flatMap((position) => {
            const entry = entries[position]!;
            return [entry.session_id, entry.websocket_id, entry.last_activity_at ?? ""];
          }),
        ),
      ),
    ),
  );
  const results: Reply[] = new Array(entries.length);
  groups.forEach((group, g) => group.forEach((position, i) => (results[position] = replies[g]![i])));
  let refreshed = 0;
  const missing: string[] = [];
  const followUps: Promise<unknown>[] = [];
  const names = new Map<string, [GlobalIndexKind, string]>();
  entries.forEach((entry, position) => {
    const result = results[position];
    if (result === 0 || result === undefined || result === null) {
      missing.push(entry.websocket_id);
      return;
    }
    refreshed++;
    if (Array.isArray(result)) {
      const fields = result as GlobalFields;
      fields.forEach((name, k) => {
        const kind = GLOBAL_INDEX_KINDS[k]!;
        followUps.push(ctx.client.trafficCopIndexAdd(ctx.keys.globalIndex(kind, name), entry.websocket_id, exp, now, ttl));
        names.set(`${kind}\n${name}`, [kind, name]);
      });
      followUps.push(ctx.client.set(ctx.keys.reverse(entry.websocket_id), entry.session_id, "PX", ttl));
    }
  });
  for (const [kind, name] of names.values()) {
    followUps.push(ctx.client.trafficCopNameAdd(ctx.keys.indexNames(kind), name, exp, ttl));
  }
  if (ctx.options.negativeControls.reverseWithoutTtl === true) {
    entries.forEach((entry, position) => {
      const result = results[position];
      if (result !== 0 && result !== undefined && result !== null) followUps.push(ctx.client.persist(ctx.keys.reverse(entry.websocket_id)));
    });
  }
  if (followUps.length > 0) await callRegistry("heartbeat", () => Promise.all(followUps));
  return { refreshed, missing };
}
