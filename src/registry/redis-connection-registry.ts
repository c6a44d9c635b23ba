/**
 * The registry on Redis. This file is its facade (argument checks, the write path and the session reads); the
 * other parts live beside it: options (redis-registry-options.ts), the tick batcher (micro-batcher.ts), the scripts
 * as commands (redis-scripts.ts), reply parsing (redis-replies.ts), the heartbeat path (redis-heartbeat.ts) and the
 * index walks of counts, sweep and the reaper (redis-index-scans.ts).
 */
import { Cluster } from "ioredis";
import { RegistryClosedError, RegistryForbiddenError } from "../errors.js";
import type {
  ConnectionCounts,
  ConnectionFilter,
  ConnectionRecord,
  ConnectionRegistry,
  HeartbeatEntry,
  HeartbeatResult,
  RegisterOptions,
  RepointResult,
  SessionState,
} from "./connection-registry.js";
import { GLOBAL_INDEX_KINDS, RegistryKeys } from "./keys.js";
import { RECORD_FIELDS, SESSION_CONNECTIONS_SCRIPT, UNREGISTER_SCRIPT, WRITE_REPLY, WRITE_SCRIPT } from "./lua-scripts.js";
import { MicroBatcher } from "./micro-batcher.js";
import { createRedisClient, toRegistryError, type RedisClient, type RedisClientOptions } from "./redis-client.js";
import { refreshRecords } from "./redis-heartbeat.js";
import { countConnections, listInstanceConnections, sweepIndexes } from "./redis-index-scans.js";
import { callRegistry, type RedisRegistryContext } from "./redis-registry-context.js";
import {
  resolveRedisConnectionRegistryOptions,
  type RedisConnectionRegistryOptions,
  type ResolvedRedisConnectionRegistryOptions,
} from "./redis-registry-options.js";
import {
  byWebsocketId,
  conflictError,
  parseLookupReply,
  parseRecord,
  parseUnregisterReply,
  parseWriteReply,
  type GlobalFields,
  writeItem,
  type UnregisterOutcome,
  type WriteItem,
  type WriteOutcome,
} from "./redis-replies.js";
import { defineScripts, evalNow, type Arg, type ScriptClient } from "./redis-scripts.js";
import {
  assertEpochMs,
  assertId,
  resolveTtl,
  validateFilter,
  validateHeartbeatEntries,
  validateRecord,
  validateStatePatch,
  validateUnregister,
} from "./validation.js";

export {
  DEFAULT_REDIS_CONNECTION_REGISTRY_OPTIONS,
  resolveRedisConnectionRegistryOptions,
  type RedisConnectionRegistryOptions,
  type ResolvedRedisConnectionRegistryOptions,
} from "./redis-registry-options.js";

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
  readonly #client: ScriptClient;
  /** Whether one script may touch every key (standalone) or only one session's slot (Cluster). */
  readonly #full: boolean;
  readonly #h: string;
  #closing?: Promise<void>;
  readonly #writeBatcher: MicroBatcher<WriteItem, WriteOutcome>;
  readonly #lookupBatcher: MicroBatcher<[string, string, string, string], ConnectionRecord[]>;
  readonly #unregisterBatcher: MicroBatcher<[string, string, string, string], UnregisterOutcome>;
  readonly #ctx: RedisRegistryContext;

  /**
   * @param client a client from {@link createRedisClient} (or any ioredis `Redis`/`Cluster`); the registry defines
   *   its scripts on it and leaves it open on `close()` unless `closeClient` is set.
   */
  constructor(client: RedisClient, options: RedisConnectionRegistryOptions = {}) {
    this.options = resolveRedisConnectionRegistryOptions(client, options);
    this.keys = new RegistryKeys(this.options.keyPrefix, this.options.hashTags);
    this.#full = !(client instanceof Cluster);
    this.#h = this.options.hashTags ? "1" : "0";
    this.#client = defineScripts(client);
    this.#ctx = { client: this.#client, keys: this.keys, full: this.#full, h: this.#h, options: this.options, now: () => this.#now() };
    const batchSize = this.#full ? this.options.maxBatchSize : 1;
    this.#writeBatcher = new MicroBatcher(batchSize, async (items, full) => {
      const now = this.#now();
      const key = this.keys.sessionIndex(items[0]!.sessionId);
      const packed = new Array<string>(items.length);
      for (let i = 0; i < items.length; i++) packed[i] = items[i]!.packed;
      const args: Arg[] = [this.keys.prefix, this.#h, this.#full ? "1" : "0", now, this.options.sessionTtlMs, packed.join("")];
      const reply = full ? await evalNow(this.#client, WRITE_SCRIPT, key, args) : await this.#client.trafficCopWrite(key, ...args);
      return parseWriteReply(reply as (string | number)[], items, now, this.#full);
    });
    this.#lookupBatcher = new MicroBatcher(batchSize, async (lookups, full) => {
      const now = this.#now();
      const key = this.keys.sessionIndex(lookups[0]![1]);
      let packed = "";
      for (const lookup of lookups) packed += `${lookup[0]}\n${lookup[1]}\n${lookup[2]}\n${lookup[3]}\n`;
      const args: Arg[] = [this.keys.prefix, this.#h, now, packed];
      const reply = full ? await evalNow(this.#client, SESSION_CONNECTIONS_SCRIPT, key, args) : await this.#client.trafficCopSessionConnections(key, ...args);
      return parseLookupReply(String(reply), lookups);
    });
    this.#unregisterBatcher = new MicroBatcher(batchSize, async (items, full) => {
      const now = this.#now();
      const key = this.keys.sessionIndex(items[0]![1]);
      const keepAgentType = this.options.negativeControls.keepAgentTypeMember === true ? "1" : "0";
      let packed = "";
      for (const item of items) packed += `${item[0]}\n${item[1]}\n${item[2]}\n${item[3]}\n`;
      const args: Arg[] = [this.keys.prefix, this.#h, this.#full ? "1" : "0", now, keepAgentType, packed];
      const reply = full ? await evalNow(this.#client, UNREGISTER_SCRIPT, key, args) : await this.#client.trafficCopUnregister(key, ...args);
      return parseUnregisterReply(reply as (string | number)[], items.length);
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

  register(record: ConnectionRecord, options?: RegisterOptions): Promise<void> {
    return this.#write("register", record, options) as Promise<unknown> as Promise<void>;
  }

  repoint(fallback: ConnectionRecord, options?: { ttlMs?: number }): Promise<RepointResult> {
    return this.#write("repoint", fallback, options) as Promise<RepointResult>;
  }

  /**
   * The write path. Standalone Redis: one promise per call on top of the batch's (no async layers), since a gateway
   * registers every connection through it. Resolves with `undefined` for a registration.
   */
  #write(mode: "register" | "repoint", input: ConnectionRecord, options?: RegisterOptions): Promise<RepointResult | undefined> {
    let record: ConnectionRecord;
    let item: WriteItem;
    try {
      this.#assertOpen();
      record = validateRecord(input);
      item = writeItem(mode === "register" && options?.newId === true ? "create" : mode, resolveTtl(options, this.options.connectionTtlMs), record);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#full) return this.#writeOnCluster(mode, record, item);
    return this.#writeBatcher.push(item).then(
      (outcome) => {
        const result = this.#written(mode, record, outcome);
        if (this.options.negativeControls.reverseWithoutTtl === true) {
          return this.#call(mode, () => this.#client.persist(this.keys.reverse(record.websocket_id))).then(() => result);
        }
        return result;
      },
      (error: unknown) => {
        throw toRegistryError(error, mode);
      },
    );
  }

  /** Throws the refusal of a write outcome; else the result of `mode` (`undefined` for a registration). */
  #written(mode: "register" | "repoint", record: ConnectionRecord, outcome: WriteOutcome): RepointResult | undefined {
    if (outcome.code === WRITE_REPLY.FORBIDDEN) {
      throw new RegistryForbiddenError(`session ${record.session_id} belongs to another tenant than ${record.tenant_id}; nothing was written`);
    }
    if (outcome.code === WRITE_REPLY.CONFLICT) throw conflictError(record.websocket_id, record.session_id);
    if (mode === "register") return undefined;
    if (!outcome.kept) return { record, existed: outcome.code === WRITE_REPLY.EXISTED };
    const [agentType, pillar, connectedAt, previousInstanceId] = outcome.kept;
    const written: ConnectionRecord = { ...record, agent_type: agentType, pillar, connected_at: Number(connectedAt) };
    return { record: written, existed: true, ...(previousInstanceId !== "" ? { previousInstanceId } : {}) };
  }

  /**
   * Cluster: the reverse index and another session's record live in other slots than this session's script, so
   * the check runs before it (standalone Redis checks inside the script, atomically), and the global indexes
   * follow it as single-key commands.
   */
  async #writeOnCluster(mode: "register" | "repoint", record: ConnectionRecord, item: WriteItem): Promise<RepointResult | undefined> {
    const s = record.session_id;
    const w = record.websocket_id;
    await this.#call(mode, () => this.#assertNoLiveRecordElsewhere(w, s));
    const outcome = await this.#call(mode, () => this.#writeBatcher.push(item));
    // Written as a repoint to learn the record as written (a repoint of a live record keeps some of its fields).
    const result = this.#written("repoint", record, outcome)!;
    const written = result.record;
    const stale = outcome.stale!;
    await this.#call(mode, () =>
      Promise.all([
        ...stale.flatMap((old, i) => (old === false ? [] : [this.#client.zrem(this.keys.globalIndex(GLOBAL_INDEX_KINDS[i]!, old), w)])),
        this.#addGlobal(w, s, [written.agent_type, written.pillar, written.instance_id, written.tenant_id], outcome.exp, item.ttl),
      ]),
    );
    if (this.options.negativeControls.reverseWithoutTtl === true) await this.#call(mode, () => this.#client.persist(this.keys.reverse(w)));
    return mode === "register" ? undefined : result;
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

  getSessionConnections(tenantId: string, sessionId: string, filter?: ConnectionFilter): Promise<ConnectionRecord[]> {
    let lookup: [string, string, string, string];
    try {
      this.#assertOpen();
      assertId("tenantId", tenantId);
      assertId("sessionId", sessionId);
      const { agent_type = "", pillar = "" } = validateFilter(filter);
      lookup = [tenantId, sessionId, agent_type, pillar];
    } catch (error) {
      return Promise.reject(error);
    }
    // One promise on top of the batch's: lookups are the registry's hottest read.
    return this.#lookupBatcher.push(lookup).then(
      (records) => (records.length > 1 ? records.sort(byWebsocketId) : records),
      (error: unknown) => {
        throw toRegistryError(error, "getSessionConnections");
      },
    );
  }

  unregister(tenantId: string, sessionId: string, websocketId: string, options?: { ifInstanceId?: string }): Promise<boolean> {
    let item: [string, string, string, string];
    try {
      this.#assertOpen();
      item = [tenantId, sessionId, websocketId, validateUnregister(tenantId, sessionId, websocketId, options) ?? ""];
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#full) return this.#unregisterOnCluster(item);
    // One promise on top of the batch's: a gateway removes every closed connection through it.
    return this.#unregisterBatcher.push(item).then(
      (outcome) => outcome.code === 1 && outcome.live,
      (error: unknown) => {
        throw toRegistryError(error, "unregister");
      },
    );
  }

  /** Cluster: the session's slot first, then the global indexes and the reverse index (other slots). */
  async #unregisterOnCluster(item: [string, string, string, string]): Promise<boolean> {
    const [, sessionId, websocketId] = item;
    const outcome = await this.#call("unregister", () => this.#unregisterBatcher.push(item));
    if (outcome.code !== 1) return false;
    const fields = outcome.fields!;
    const keepAgentType = this.options.negativeControls.keepAgentTypeMember === true;
    await this.#call("unregister", () =>
      Promise.all([
        ...fields.flatMap((name, i) => (keepAgentType && i === 0 ? [] : [this.#client.zrem(this.keys.globalIndex(GLOBAL_INDEX_KINDS[i]!, name), websocketId)])),
        this.#client.trafficCopDeleteIfEqual(this.keys.reverse(websocketId), sessionId),
      ]),
    );
    return outcome.live;
  }

  async updateActivity(tenantId: string, sessionId: string, websocketId: string, atMs?: number): Promise<boolean> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    assertId("websocketId", websocketId);
    const now = this.#now();
    const at = atMs ?? now;
    assertEpochMs("atMs", at);
    const result = await refreshRecords(this.#ctx, [{ session_id: sessionId, websocket_id: websocketId, last_activity_at: at }], this.options.connectionTtlMs, tenantId, now);
    return result.refreshed === 1;
  }

  async heartbeat(entries: readonly HeartbeatEntry[], options?: { ttlMs?: number }): Promise<HeartbeatResult> {
    this.#assertOpen();
    const valid = validateHeartbeatEntries(entries);
    const ttl = resolveTtl(options, this.options.connectionTtlMs);
    return refreshRecords(this.#ctx, valid, ttl, "", this.#now());
  }

  async listInstanceConnections(instanceId: string): Promise<ConnectionRecord[]> {
    this.#assertOpen();
    assertId("instanceId", instanceId);
    return listInstanceConnections(this.#ctx, instanceId);
  }

  /** Counts members of the instance and tenant indexes scored in the future (ZCOUNT; no per-record reads). */
  async counts(): Promise<ConnectionCounts> {
    this.#assertOpen();
    return countConnections(this.#ctx);
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
   * names whose indexes hold no live member. Session indexes are pruned by the unregisters and heartbeats of their
   * session (and about one write script in `WRITE_PRUNE_EVERY`) and expire with their last member.
   */
  async sweep(): Promise<number> {
    this.#assertOpen();
    return sweepIndexes(this.#ctx);
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
          this.#client.trafficCopIndexAdd(this.keys.globalIndex(kind, name), w, exp, now, ttl),
          this.#client.trafficCopNameAdd(this.keys.indexNames(kind), name, exp, ttl),
        ];
      }),
      this.#client.set(this.keys.reverse(w), s, "PX", ttl),
    ]);
  }

  #now(): number {
    return Math.floor(this.options.clock());
  }

  #assertOpen(): void {
    if (this.#closing) throw new RegistryClosedError("the registry was closed; create a new one");
  }

  #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return callRegistry(operation, fn);
  }
}
