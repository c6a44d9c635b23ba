import { createHash } from "node:crypto";
import { Cluster, Command } from "ioredis";
import { RegistryClosedError, RegistryForbiddenError } from "../errors.js";
import type {
  ConnectionCounts,
  ConnectionFilter,
  ConnectionRecord,
  ConnectionRegistry,
  HeartbeatEntry,
  HeartbeatResult,
  RepointResult,
  SessionState,
} from "./connection-registry.js";
import { DEFAULT_KEY_PREFIX, GLOBAL_INDEX_KINDS, RegistryKeys, type GlobalIndexKind } from "./keys.js";
import {
  DELETE_IF_EQUAL_SCRIPT,
  HEARTBEAT_SCRIPT,
  INDEX_ADD_SCRIPT,
  LOOKUP_FIELDS,
  RECORD_FIELDS,
  SESSION_CONNECTIONS_SCRIPT,
  STATE_UPDATE_SCRIPT,
  UNREGISTER_SCRIPT,
  WRITE_REPLY,
  WRITE_SCRIPT,
} from "./lua-scripts.js";
import { createRedisClient, toRegistryError, type RedisClient, type RedisClientOptions } from "./redis-client.js";
import {
  assertEpochMs,
  assertId,
  assertTtlMs,
  resolveTtl,
  validateFilter,
  validateHeartbeatEntries,
  validateRecord,
  validateStatePatch,
} from "./validation.js";

/** Options of {@link RedisConnectionRegistry}. */
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
  /** Close the Redis client on `close()`. @default false (true when created by {@link RedisConnectionRegistry.fromUrl}) */
  closeClient?: boolean;
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

type Reply = unknown;
type Arg = string | number;

/** The scripts, as ioredis custom commands (EVALSHA with EVAL fallback). */
interface ScriptCommands {
  trafficCopWrite(...args: Arg[]): Promise<(string | number)[]>;
  trafficCopUnregister(...args: Arg[]): Promise<Reply[]>;
  trafficCopHeartbeat(...args: Arg[]): Promise<Reply[]>;
  trafficCopSessionConnections(...args: Arg[]): Promise<string>;
  trafficCopStateUpdate(...args: Arg[]): Promise<number>;
  trafficCopIndexAdd(...args: Arg[]): Promise<number>;
  trafficCopDeleteIfEqual(...args: Arg[]): Promise<number>;
}

const SCRIPTS: Record<keyof ScriptCommands, { lua: string; numberOfKeys: number }> = {
  trafficCopWrite: { lua: WRITE_SCRIPT, numberOfKeys: 1 },
  trafficCopUnregister: { lua: UNREGISTER_SCRIPT, numberOfKeys: 1 },
  trafficCopHeartbeat: { lua: HEARTBEAT_SCRIPT, numberOfKeys: 1 },
  trafficCopSessionConnections: { lua: SESSION_CONNECTIONS_SCRIPT, numberOfKeys: 1 },
  trafficCopStateUpdate: { lua: STATE_UPDATE_SCRIPT, numberOfKeys: 2 },
  trafficCopIndexAdd: { lua: INDEX_ADD_SCRIPT, numberOfKeys: 1 },
  trafficCopDeleteIfEqual: { lua: DELETE_IF_EQUAL_SCRIPT, numberOfKeys: 1 },
};

/** Global index fields of a record, in {@link GLOBAL_INDEX_KINDS} order. */
type GlobalFields = [agentType: string, pillar: string, instanceId: string, tenantId: string];

/** One record's outcome of the write script. */
interface WriteOutcome {
  /** A {@link WRITE_REPLY} code. */
  code: number;
  /** Repoint of a live record: the kept agent_type, pillar and connected_at. */
  kept?: [agentType: string, pillar: string, connectedAt: string];
  /** Cluster: old global index values the websocket id must be removed from (`false` where unchanged). */
  stale?: StaleFields;
  /** Expiry written (epoch ms). */
  exp: number;
}

/** Number of values per record in the write script's ARGV. */
const WRITE_ARGS_PER_RECORD = 10;
/**
 * Collects the items pushed in one tick and hands them to `flush` in chunks of at most `maxSize`; each caller gets
 * its own item's result (or the chunk's error). A chunk that reaches `maxSize` is flushed at once (`full` = true),
 * so that Redis works on it while the caller is still producing the next one.
 */
class MicroBatcher<I, O> {
  #queue: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];

  constructor(
    readonly maxSize: number,
    readonly flush: (items: I[], full: boolean) => Promise<O[]>,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#queue.length === 1) process.nextTick(() => this.#drain());
      else if (this.#queue.length >= this.maxSize) this.#drain();
    });
  }

  #drain(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    for (let i = 0; i < queue.length; i += this.maxSize) {
      const chunk = queue.slice(i, i + this.maxSize);
      let pending: Promise<O[]>;
      try {
        pending = this.flush(chunk.map((entry) => entry.item), chunk.length === this.maxSize && this.maxSize > 1);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (results) => chunk.forEach((entry, k) => entry.resolve(results[k]!)),
        (error: unknown) => chunk.forEach((entry) => entry.reject(error)),
      );
    }
  }
}

type StaleFields = [string | false, string | false, string | false, string | false];

/**
 * The registry on Redis (standalone or Cluster), per docs/registry.md.
 *
 * Every write is one Lua script. On standalone Redis that script writes the record and every index at once. On
 * Redis Cluster it writes the session's slot atomically (record, session index, owner, state) and the global
 * indexes follow as single-key commands; the record is the source of truth, so an index member without a live
 * record is never taken for a connection, and a failed follow-up is repaired by the next heartbeat.
 */
export class RedisConnectionRegistry implements ConnectionRegistry, AsyncDisposable {
  /** The key builder of this registry. */
  readonly keys: RegistryKeys;
  /** The resolved options. */
  readonly options: ResolvedRedisConnectionRegistryOptions;
  readonly #client: RedisClient & ScriptCommands;
  /** Whether one script may touch every key (standalone) or only one session's slot (Cluster). */
  readonly #full: boolean;
  readonly #h: string;
  #closing?: Promise<void>;
  readonly #writeBatcher: MicroBatcher<Arg[], WriteOutcome>;
  readonly #lookupBatcher: MicroBatcher<[string, string, string, string], ConnectionRecord[]>;

  /**
   * @param client a client from {@link createRedisClient} (or any ioredis `Redis`/`Cluster`); the registry defines
   *   its scripts on it and leaves it open on `close()` unless `closeClient` is set.
   */
  constructor(client: RedisClient, options: RedisConnectionRegistryOptions = {}) {
    this.options = resolveRedisConnectionRegistryOptions(client, options);
    this.keys = new RegistryKeys(this.options.keyPrefix, this.options.hashTags);
    this.#full = !(client instanceof Cluster);
    this.#h = this.options.hashTags ? "1" : "0";
    for (const [name, script] of Object.entries(SCRIPTS)) {
      if (typeof (client as unknown as Record<string, unknown>)[name] !== "function") client.defineCommand(name, script);
    }
    this.#client = client as RedisClient & ScriptCommands;
    const batchSize = this.#full ? this.options.maxBatchSize : 1;
    this.#writeBatcher = new MicroBatcher(batchSize, async (records, full) => {
      const now = this.#now();
      const key = this.keys.sessionIndex(String(records[0]![3]));
      const args: Arg[] = [this.keys.prefix, this.#h, this.#full ? "1" : "0", now, this.options.sessionTtlMs];
      for (const record of records) for (let i = 0; i < WRITE_ARGS_PER_RECORD; i++) args.push(record[i]!);
      const reply = full ? await this.#evalNow(WRITE_SCRIPT, key, args) : await this.#client.trafficCopWrite(key, ...args);
      return parseWriteReply(reply as (string | number)[], records, now, this.#full);
    });
    this.#lookupBatcher = new MicroBatcher(batchSize, async (lookups, full) => {
      const now = this.#now();
      const key = this.keys.sessionIndex(lookups[0]![1]);
      const args: Arg[] = [this.keys.prefix, this.#h, now];
      for (const lookup of lookups) args.push(lookup[0], lookup[1], lookup[2], lookup[3]);
      const reply = full ? await this.#evalNow(SESSION_CONNECTIONS_SCRIPT, key, args) : await this.#client.trafficCopSessionConnections(key, ...args);
      return parseLookupReply(String(reply), lookups);
    });
  }

  /**
   * Creates a registry with its own client from a `REDIS_URL` (comma list of nodes with `cluster: true`); the client
   * is closed with the registry.
   */
  static fromUrl(url: string, options: RedisConnectionRegistryOptions & { client?: RedisClientOptions } = {}): RedisConnectionRegistry {
    const { client: clientOptions, ...registryOptions } = options;
    return new RedisConnectionRegistry(createRedisClient(url, clientOptions), { closeClient: true, ...registryOptions });
  }

  /** The underlying client (shared with whoever created it). */
  get client(): RedisClient {
    return this.#client;
  }

  async register(record: ConnectionRecord, options?: { ttlMs?: number }): Promise<void> {
    this.#assertOpen();
    await this.#write("register", record, options);
  }

  async repoint(fallback: ConnectionRecord, options?: { ttlMs?: number }): Promise<RepointResult> {
    this.#assertOpen();
    return this.#write("repoint", fallback, options);
  }

  async #write(mode: "register" | "repoint", input: ConnectionRecord, options?: { ttlMs?: number }): Promise<RepointResult> {
    const record = validateRecord(input);
    const ttl = resolveTtl(options, this.options.connectionTtlMs);
    const s = record.session_id;
    const w = record.websocket_id;
    // Cluster: the reverse index and another session's record live in other slots than this session's script, so
    // the check runs before it (standalone Redis checks inside the script, atomically).
    if (!this.#full) await this.#call(mode, () => this.#assertNoLiveRecordElsewhere(w, s));
    const outcome = await this.#call(mode, () =>
      this.#writeBatcher.push([
        mode, ttl, w, s, record.tenant_id, record.agent_type, record.pillar, record.instance_id, record.connected_at, record.last_activity_at,
      ]),
    );
    if (outcome.code === WRITE_REPLY.FORBIDDEN) {
      throw new RegistryForbiddenError(`session ${s} belongs to another tenant than ${record.tenant_id}; nothing was written`);
    }
    if (outcome.code === WRITE_REPLY.CONFLICT) throw conflictError(w, s);
    const written: ConnectionRecord = outcome.kept
      ? { ...record, agent_type: outcome.kept[0], pillar: outcome.kept[1], connected_at: Number(outcome.kept[2]) }
      : record;
    if (!this.#full) {
      const exp = outcome.exp;
      const stale = outcome.stale!;
      await this.#call(mode, () =>
        Promise.all([
          ...stale.flatMap((old, i) =>
            old === false ? [] : [this.#client.zrem(this.keys.globalIndex(GLOBAL_INDEX_KINDS[i]!, old), w)],
          ),
          this.#addGlobal(w, s, [written.agent_type, written.pillar, written.instance_id, written.tenant_id], exp, ttl),
        ]),
      );
    }
    return { record: written, existed: outcome.code === WRITE_REPLY.EXISTED };
  }

  /** Rejects when `w`'s reverse index names another session than `s` whose record of `w` is live (Cluster). */
  async #assertNoLiveRecordElsewhere(w: string, s: string): Promise<void> {
    const other = await this.#client.get(this.keys.reverse(w));
    if (other === null || other === s) return;
    const expiresAt = await this.#client.hget(this.keys.connection(other, w), "expires_at");
    if (expiresAt !== null && Number(expiresAt) > this.#now()) throw conflictError(w, s);
  }

  async getConnection(tenantId: string, sessionId: string, websocketId: string): Promise<ConnectionRecord | null> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    assertId("websocketId", websocketId);
    const now = this.#now();
    const values = await this.#call("getConnection", () =>
      this.#client.hmget(this.keys.connection(sessionId, websocketId), ...RECORD_FIELDS),
    );
    const record = parseRecord(values, now);
    return record && record.tenant_id === tenantId ? record : null;
  }

  async findConnection(tenantId: string, websocketId: string): Promise<ConnectionRecord | null> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("websocketId", websocketId);
    const sessionId = await this.#call("findConnection", () => this.#client.get(this.keys.reverse(websocketId)));
    if (sessionId === null) return null;
    return this.getConnection(tenantId, sessionId, websocketId);
  }

  async getSessionIdOf(tenantId: string, websocketId: string): Promise<string | null> {
    return (await this.findConnection(tenantId, websocketId))?.session_id ?? null;
  }

  async getSessionConnections(tenantId: string, sessionId: string, filter?: ConnectionFilter): Promise<ConnectionRecord[]> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    const { agent_type = "", pillar = "" } = validateFilter(filter);
    const records = await this.#call("getSessionConnections", () => this.#lookupBatcher.push([tenantId, sessionId, agent_type, pillar]));
    return records.length > 1 ? records.sort(byWebsocketId) : records;
  }

  async unregister(tenantId: string, sessionId: string, websocketId: string, options?: { ifInstanceId?: string }): Promise<boolean> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    assertId("websocketId", websocketId);
    const ifInstanceId = options?.ifInstanceId;
    if (ifInstanceId !== undefined) assertId("ifInstanceId", ifInstanceId);
    const now = this.#now();
    const reply = await this.#call("unregister", () =>
      this.#client.trafficCopUnregister(
        this.keys.sessionIndex(sessionId),
        this.keys.prefix, this.#h, this.#full ? "1" : "0", now, tenantId, sessionId, websocketId, ifInstanceId ?? "",
      ),
    );
    if (reply[0] !== 1) return false;
    if (!this.#full) {
      const fields = reply.slice(2, 6) as GlobalFields;
      await this.#call("unregister", () =>
        Promise.all([
          ...fields.map((name, i) => this.#client.zrem(this.keys.globalIndex(GLOBAL_INDEX_KINDS[i]!, name), websocketId)),
          this.#client.trafficCopDeleteIfEqual(this.keys.reverse(websocketId), sessionId),
        ]),
      );
    }
    return reply[1] === 1;
  }

  async updateActivity(tenantId: string, sessionId: string, websocketId: string, atMs?: number): Promise<boolean> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    assertId("websocketId", websocketId);
    const now = this.#now();
    const at = atMs ?? now;
    assertEpochMs("atMs", at);
    const result = await this.#heartbeat([{ session_id: sessionId, websocket_id: websocketId, last_activity_at: at }], this.options.connectionTtlMs, tenantId, now);
    return result.refreshed === 1;
  }

  async heartbeat(entries: readonly HeartbeatEntry[], options?: { ttlMs?: number }): Promise<HeartbeatResult> {
    this.#assertOpen();
    const valid = validateHeartbeatEntries(entries);
    const ttl = resolveTtl(options, this.options.connectionTtlMs);
    return this.#heartbeat(valid, ttl, "", this.#now());
  }

  /**
   * Standalone: one script per batch of `heartbeatBatchSize` entries, all batches sent together (one round trip).
   * Cluster: one script per session and batch, all sent before any reply is awaited (one round trip per node),
   * then the global index refreshes of the refreshed entries (a second round trip).
   */
  async #heartbeat(entries: HeartbeatEntry[], ttl: number, tenant: string, now: number): Promise<HeartbeatResult> {
    if (entries.length === 0) return { refreshed: 0, missing: [] };
    const exp = now + ttl;
    // Groups hold positions into `entries`, so `missing` keeps the callers' order whatever the grouping.
    const groups: number[][] = [];
    const size = this.options.heartbeatBatchSize;
    if (this.#full) {
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
    const replies = await this.#call("heartbeat", () =>
      Promise.all(
        groups.map((group) =>
          this.#client.trafficCopHeartbeat(
            this.keys.sessionIndex(entries[group[0]!]!.session_id),
            this.keys.prefix, this.#h, this.#full ? "1" : "0", now, ttl, exp, this.#sessionOwnerTtl(ttl), tenant,
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
          followUps.push(this.#client.trafficCopIndexAdd(this.keys.globalIndex(kind, name), entry.websocket_id, exp, now));
          names.set(`${kind}\n${name}`, [kind, name]);
        });
        followUps.push(this.#client.set(this.keys.reverse(entry.websocket_id), entry.session_id, "PX", ttl));
      }
    });
    for (const [kind, name] of names.values()) {
      followUps.push(this.#client.zadd(this.keys.indexNames(kind), "GT", exp, name));
    }
    if (followUps.length > 0) await this.#call("heartbeat", () => Promise.all(followUps));
    return { refreshed, missing };
  }

  async listInstanceConnections(instanceId: string): Promise<ConnectionRecord[]> {
    this.#assertOpen();
    assertId("instanceId", instanceId);
    const now = this.#now();
    return this.#call("listInstanceConnections", async () => {
      const ids = await this.#client.zrangebyscore(this.keys.instanceIndex(instanceId), `(${now}`, "+inf");
      const sessions = await Promise.all(ids.map((w) => this.#client.get(this.keys.reverse(w))));
      const rows = await Promise.all(
        ids.map((w, i) => (sessions[i] ? this.#client.hmget(this.keys.connection(sessions[i]!, w), ...RECORD_FIELDS) : null)),
      );
      return rows
        .flatMap((row) => (row ? parseRecord(row, now) ?? [] : []))
        .filter((record) => record.instance_id === instanceId)
        .sort(byWebsocketId);
    });
  }

  /** Counts members of the instance and tenant indexes scored in the future (ZCOUNT; no per-record reads). */
  async counts(): Promise<ConnectionCounts> {
    this.#assertOpen();
    const now = this.#now();
    return this.#call("counts", async () => {
      const countKind = async (kind: "instance" | "tenant") => {
        const names = await this.#client.zrangebyscore(this.keys.indexNames(kind), `(${now}`, "+inf");
        const values = await Promise.all(names.map((name) => this.#client.zcount(this.keys.globalIndex(kind, name), `(${now}`, "+inf")));
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

  async getSessionTenant(sessionId: string): Promise<string | null> {
    this.#assertOpen();
    assertId("sessionId", sessionId);
    return this.#call("getSessionTenant", () => this.#client.get(this.keys.sessionTenant(sessionId)));
  }

  async getSessionState(tenantId: string, sessionId: string): Promise<SessionState> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    const [owner, state] = await this.#call("getSessionState", () =>
      Promise.all([this.#client.get(this.keys.sessionTenant(sessionId)), this.#client.hgetall(this.keys.sessionState(sessionId))]),
    );
    return owner === tenantId ? { ...state } : {};
  }

  async updateSessionState(tenantId: string, sessionId: string, patch: SessionState): Promise<void> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    const fields = Object.entries(validateStatePatch(patch)).flat();
    const reply = await this.#call("updateSessionState", () =>
      this.#client.trafficCopStateUpdate(
        this.keys.sessionTenant(sessionId), this.keys.sessionState(sessionId),
        tenantId, this.options.sessionTtlMs, ...fields,
      ),
    );
    if (reply === -1) throw new RegistryForbiddenError(`session ${sessionId} belongs to another tenant than ${tenantId}; state unchanged`);
  }

  /**
   * Prunes expired members from every global index reachable through the name registries (no keyspace scan), and
   * names whose indexes hold no live member. Session indexes are pruned by every write in their session and expire
   * with their last member.
   */
  async sweep(): Promise<number> {
    this.#assertOpen();
    const now = this.#now();
    return this.#call("sweep", async () => {
      const removed = await Promise.all(
        GLOBAL_INDEX_KINDS.map(async (kind) => {
          const names = await this.#client.zrange(this.keys.indexNames(kind), "0", "-1");
          const counts = await Promise.all(names.map((name) => this.#client.zremrangebyscore(this.keys.globalIndex(kind, name), "-inf", now)));
          await this.#client.zremrangebyscore(this.keys.indexNames(kind), "-inf", now);
          return counts.reduce((sum, n) => sum + n, 0);
        }),
      );
      return removed.reduce((sum, n) => sum + n, 0);
    });
  }

  /** Marks the registry closed (further calls reject with `REGISTRY_ERR_CLOSED`) and closes the client if it owns it. Idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      if (!this.options.closeClient) return;
      try {
        await this.#client.quit();
      } catch {
        this.#client.disconnect();
      }
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #addGlobal(w: string, s: string, fields: GlobalFields, exp: number, ttl: number): Promise<unknown> {
    const now = this.#now();
    return Promise.all([
      ...fields.flatMap((name, i) => {
        const kind = GLOBAL_INDEX_KINDS[i]!;
        return [
          this.#client.trafficCopIndexAdd(this.keys.globalIndex(kind, name), w, exp, now),
          this.#client.zadd(this.keys.indexNames(kind), "GT", exp, name),
        ];
      }),
      this.#client.set(this.keys.reverse(w), s, "PX", ttl),
    ]);
  }

  /**
   * Sends a script with one key at once, outside ioredis' auto-pipeline (which waits for `setImmediate`): a full
   * batch reaches Redis while the caller is still producing the next one. EVALSHA, with EVAL when Redis lost its
   * script cache. Standalone Redis only (batches of more than one item exist only there).
   */
  async #evalNow(lua: string, key: string, args: Arg[]): Promise<unknown> {
    const send = (name: "evalsha" | "eval", script: string) => {
      const command = new Command(name, [script, 1, key, ...args]);
      void this.#client.sendCommand(command);
      return command.promise;
    };
    try {
      return await send("evalsha", scriptSha(lua));
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) return send("eval", lua);
      throw error;
    }
  }

  #sessionOwnerTtl(ttl: number): number {
    return Math.max(this.options.sessionTtlMs, ttl);
  }

  #now(): number {
    return Math.floor(this.options.clock());
  }

  #assertOpen(): void {
    if (this.#closing) throw new RegistryClosedError("the registry was closed; create a new one");
  }

  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toRegistryError(error, operation);
    }
  }
}

const SHAS = new Map<string, string>();

/** SHA1 of a script (memoised). */
function scriptSha(lua: string): string {
  let sha = SHAS.get(lua);
  if (sha === undefined) SHAS.set(lua, (sha = createHash("sha1").update(lua).digest("hex")));
  return sha;
}

/** The error of a write refused because `w` has a live record in another session than `s`. */
function conflictError(w: string, s: string): RegistryForbiddenError {
  return new RegistryForbiddenError(`websocket id ${w} has a live record in another session than ${s}; nothing was written`, { reason: "websocket_id" });
}

/** Splits the write script's flat reply into one outcome per record (see WRITE_SCRIPT). */
function parseWriteReply(reply: readonly (string | number)[], records: readonly Arg[][], now: number, full: boolean): WriteOutcome[] {
  const outcomes: WriteOutcome[] = new Array(records.length);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const code = Number(reply[pos++]);
    const outcome: WriteOutcome = { code, exp: now + Number(record[1]) };
    if (code >= 0) {
      if (code === WRITE_REPLY.EXISTED && record[0] === "repoint") {
        outcome.kept = [String(reply[pos]), String(reply[pos + 1]), String(reply[pos + 2])];
        pos += 3;
      }
      if (!full) {
        outcome.stale = reply.slice(pos, pos + 4).map((value) => (typeof value === "string" && value !== "" ? value : false)) as StaleFields;
        pos += 4;
      }
    }
    outcomes[i] = outcome;
  }
  return outcomes;
}

/** Splits the lookup script's reply (see SESSION_CONNECTIONS_SCRIPT) into the records of each lookup. */
function parseLookupReply(reply: string, lookups: readonly [string, string, string, string][]): ConnectionRecord[][] {
  const values = reply.split("\n");
  const width = 1 + LOOKUP_FIELDS.length;
  let pos = 0;
  return lookups.map(([tenant_id, session_id]) => {
    const count = Number(values[pos++]);
    const records: ConnectionRecord[] = new Array(count);
    for (let k = 0; k < count; k++, pos += width) {
      records[k] = {
        websocket_id: values[pos]!,
        session_id,
        tenant_id,
        agent_type: values[pos + 1]!,
        pillar: values[pos + 2]!,
        instance_id: values[pos + 3]!,
        connected_at: Number(values[pos + 4]),
        last_activity_at: Number(values[pos + 5]),
      };
    }
    return records;
  });
}

/** Parses an `HMGET` of {@link RECORD_FIELDS}; `null` when absent or expired at `now`. */
function parseRecord(values: readonly (string | null | undefined | false)[], now: number): ConnectionRecord | null {
  if (values.some((value) => typeof value !== "string")) return null;
  const [websocket_id, session_id, tenant_id, agent_type, pillar, instance_id, connected_at, last_activity_at, expires_at] =
    values as string[];
  if (!(Number(expires_at) > now)) return null;
  return {
    websocket_id: websocket_id!,
    session_id: session_id!,
    tenant_id: tenant_id!,
    agent_type: agent_type!,
    pillar: pillar!,
    instance_id: instance_id!,
    connected_at: Number(connected_at),
    last_activity_at: Number(last_activity_at),
  };
}

function byWebsocketId(a: ConnectionRecord, b: ConnectionRecord): number {
  return a.websocket_id < b.websocket_id ? -1 : a.websocket_id > b.websocket_id ? 1 : 0;
}
