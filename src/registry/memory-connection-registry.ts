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
import {
  assertEpochMs,
  assertId,
  resolveTtl,
  validateFilter,
  validateHeartbeatEntries,
  validateRecord,
  validateStatePatch,
  validateUnregister,
  assertTtlMs,
} from "./validation.js";

/** Options of {@link MemoryConnectionRegistry}. */
export interface MemoryConnectionRegistryOptions {
  /** TTL of a connection record without heartbeat, in milliseconds. @default 30000 */
  connectionTtlMs?: number;
  /** TTL of a session's owner and state, in milliseconds, refreshed by writes and heartbeats. @default 86400000 (24 h) */
  sessionTtlMs?: number;
  /** Clock for `now` (epoch ms); expiry is judged against it. @default Date.now */
  clock?: () => number;
}

/** Defaults of {@link MemoryConnectionRegistryOptions}. */
export const DEFAULT_MEMORY_CONNECTION_REGISTRY_OPTIONS = Object.freeze({
  connectionTtlMs: 30_000,
  sessionTtlMs: 86_400_000,
  clock: Date.now,
});

/** {@link MemoryConnectionRegistryOptions} with every default applied. */
export type ResolvedMemoryConnectionRegistryOptions = Readonly<Required<MemoryConnectionRegistryOptions>>;

/** Applies defaults and validates; throws `TypeError` stating the rule that an option breaks. */
export function resolveMemoryConnectionRegistryOptions(options: MemoryConnectionRegistryOptions = {}): ResolvedMemoryConnectionRegistryOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const resolved: Required<MemoryConnectionRegistryOptions> = { ...DEFAULT_MEMORY_CONNECTION_REGISTRY_OPTIONS, ...defined };
  try {
    assertTtlMs("connectionTtlMs", resolved.connectionTtlMs);
    assertTtlMs("sessionTtlMs", resolved.sessionTtlMs);
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  if (typeof resolved.clock !== "function") throw new TypeError("clock must be a function returning epoch milliseconds");
  return Object.freeze(resolved);
}

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The seed's "before" design, kept as a negative control: the same contract as {@link RedisConnectionRegistry},
 * held in this process's memory. Nothing is shared with other instances or processes and nothing survives a
 * restart; expiry is judged by timestamps against the clock.
 */
export class MemoryConnectionRegistry implements ConnectionRegistry, AsyncDisposable {
  /** The resolved options. */
  readonly options: ResolvedMemoryConnectionRegistryOptions;
  readonly #sessions = new Map<string, Map<string, Expiring<ConnectionRecord>>>();
  readonly #reverse = new Map<string, Expiring<string>>();
  readonly #owners = new Map<string, Expiring<string>>();
  readonly #states = new Map<string, Expiring<SessionState>>();
  #closed = false;

  constructor(options: MemoryConnectionRegistryOptions = {}) {
    this.options = resolveMemoryConnectionRegistryOptions(options);
  }

  /** `newId` changes nothing here: the memory registry finds an old record for free. */
  async register(record: ConnectionRecord, options?: RegisterOptions): Promise<void> {
    this.#assertOpen();
    this.#write("register", record, options);
  }

  async repoint(fallback: ConnectionRecord, options?: { ttlMs?: number }): Promise<RepointResult> {
    this.#assertOpen();
    return this.#write("repoint", fallback, options);
  }

  #write(mode: "register" | "repoint", input: ConnectionRecord, options?: { ttlMs?: number }): RepointResult {
    const record = validateRecord(input);
    const ttl = resolveTtl(options, this.options.connectionTtlMs);
    const now = this.#now();
    const s = record.session_id;
    const owner = live(this.#owners.get(s), now);
    const old = live(this.#sessions.get(s)?.get(record.websocket_id), now);
    if ((owner !== undefined && owner !== record.tenant_id) || (old !== undefined && old.tenant_id !== record.tenant_id)) {
      throw new RegistryForbiddenError(`session ${s} belongs to another tenant than ${record.tenant_id}; nothing was written`);
    }
    const elsewhere = live(this.#reverse.get(record.websocket_id), now);
    if (elsewhere !== undefined && elsewhere !== s && live(this.#sessions.get(elsewhere)?.get(record.websocket_id), now) !== undefined) {
      throw new RegistryForbiddenError(`websocket id ${record.websocket_id} has a live record in another session than ${s}; nothing was written`, { reason: "websocket_id" });
    }
    const written =
      mode === "repoint" && old !== undefined
        ? { ...record, agent_type: old.agent_type, pillar: old.pillar, connected_at: old.connected_at }
        : record;
    let session = this.#sessions.get(s);
    if (session === undefined) this.#sessions.set(s, (session = new Map()));
    session.set(record.websocket_id, { value: written, expiresAt: now + ttl });
    this.#reverse.set(record.websocket_id, { value: s, expiresAt: now + ttl });
    this.#touchSession(s, record.tenant_id, ttl, now);
    return { record: { ...written }, existed: old !== undefined, ...(old !== undefined ? { previousInstanceId: old.instance_id } : {}) };
  }

  async getConnection(tenantId: string, sessionId: string, websocketId: string): Promise<ConnectionRecord | null> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    assertId("websocketId", websocketId);
    const record = live(this.#sessions.get(sessionId)?.get(websocketId), this.#now());
    return record && record.tenant_id === tenantId ? { ...record } : null;
  }

  async findConnection(tenantId: string, websocketId: string): Promise<ConnectionRecord | null> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("websocketId", websocketId);
    const sessionId = live(this.#reverse.get(websocketId), this.#now());
    return sessionId === undefined ? null : this.getConnection(tenantId, sessionId, websocketId);
  }

  async getSessionIdOf(tenantId: string, websocketId: string): Promise<string | null> {
    return (await this.findConnection(tenantId, websocketId))?.session_id ?? null;
  }

  async getSessionConnections(tenantId: string, sessionId: string, filter?: ConnectionFilter): Promise<ConnectionRecord[]> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    const { agent_type, pillar } = validateFilter(filter);
    const now = this.#now();
    const result: ConnectionRecord[] = [];
    for (const entry of this.#sessions.get(sessionId)?.values() ?? []) {
      const record = live(entry, now);
      if (record === undefined || record.tenant_id !== tenantId) continue;
      if (agent_type !== undefined && record.agent_type !== agent_type) continue;
      if (pillar !== undefined && record.pillar !== pillar) continue;
      result.push({ ...record });
    }
    return result.sort((a, b) => (a.websocket_id < b.websocket_id ? -1 : a.websocket_id > b.websocket_id ? 1 : 0));
  }

  async unregister(tenantId: string, sessionId: string, websocketId: string, options?: { ifInstanceId?: string }): Promise<boolean> {
    this.#assertOpen();
    const ifInstanceId = validateUnregister(tenantId, sessionId, websocketId, options);
    const session = this.#sessions.get(sessionId);
    const entry = session?.get(websocketId);
    if (entry === undefined || entry.value.tenant_id !== tenantId) return false;
    if (ifInstanceId !== undefined && entry.value.instance_id !== ifInstanceId) return false;
    session!.delete(websocketId);
    if (session!.size === 0) this.#sessions.delete(sessionId);
    if (this.#reverse.get(websocketId)?.value === sessionId) this.#reverse.delete(websocketId);
    return entry.expiresAt > this.#now();
  }

  async updateActivity(tenantId: string, sessionId: string, websocketId: string, atMs?: number): Promise<boolean> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    assertId("websocketId", websocketId);
    const now = this.#now();
    const at = atMs ?? now;
    assertEpochMs("atMs", at);
    return this.#refresh({ session_id: sessionId, websocket_id: websocketId, last_activity_at: at }, this.options.connectionTtlMs, tenantId, now);
  }

  async heartbeat(entries: readonly HeartbeatEntry[], options?: { ttlMs?: number }): Promise<HeartbeatResult> {
    this.#assertOpen();
    const valid = validateHeartbeatEntries(entries);
    const ttl = resolveTtl(options, this.options.connectionTtlMs);
    const now = this.#now();
    const missing: string[] = [];
    let refreshed = 0;
    for (const entry of valid) {
      if (this.#refresh(entry, ttl, undefined, now)) refreshed++;
      else missing.push(entry.websocket_id);
    }
    return { refreshed, missing };
  }

  #refresh(entry: HeartbeatEntry, ttl: number, tenantId: string | undefined, now: number): boolean {
    const stored = this.#sessions.get(entry.session_id)?.get(entry.websocket_id);
    const record = live(stored, now);
    if (record === undefined || (tenantId !== undefined && record.tenant_id !== tenantId)) return false;
    if (entry.last_activity_at !== undefined) record.last_activity_at = entry.last_activity_at;
    stored!.expiresAt = now + ttl;
    this.#reverse.set(entry.websocket_id, { value: entry.session_id, expiresAt: now + ttl });
    this.#touchSession(entry.session_id, record.tenant_id, ttl, now);
    return true;
  }

  async listInstanceConnections(instanceId: string): Promise<ConnectionRecord[]> {
    this.#assertOpen();
    assertId("instanceId", instanceId);
    return this.#liveRecords()
      .filter((record) => record.instance_id === instanceId)
      .sort((a, b) => (a.websocket_id < b.websocket_id ? -1 : a.websocket_id > b.websocket_id ? 1 : 0));
  }

  async counts(): Promise<ConnectionCounts> {
    this.#assertOpen();
    const counts: ConnectionCounts = { total: 0, byInstance: {}, byTenant: {} };
    for (const record of this.#liveRecords()) {
      counts.total++;
      counts.byInstance[record.instance_id] = (counts.byInstance[record.instance_id] ?? 0) + 1;
      counts.byTenant[record.tenant_id] = (counts.byTenant[record.tenant_id] ?? 0) + 1;
    }
    return counts;
  }

  async getSessionTenant(sessionId: string): Promise<string | null> {
    this.#assertOpen();
    assertId("sessionId", sessionId);
    return live(this.#owners.get(sessionId), this.#now()) ?? null;
  }

  async getSessionState(tenantId: string, sessionId: string): Promise<SessionState> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    const now = this.#now();
    if (live(this.#owners.get(sessionId), now) !== tenantId) return {};
    return { ...(live(this.#states.get(sessionId), now) ?? {}) };
  }

  async updateSessionState(tenantId: string, sessionId: string, patch: SessionState): Promise<void> {
    this.#assertOpen();
    assertId("tenantId", tenantId);
    assertId("sessionId", sessionId);
    const valid = validateStatePatch(patch);
    const now = this.#now();
    const owner = live(this.#owners.get(sessionId), now);
    if (owner !== undefined && owner !== tenantId) {
      throw new RegistryForbiddenError(`session ${sessionId} belongs to another tenant than ${tenantId}; state unchanged`);
    }
    const expiresAt = now + this.options.sessionTtlMs;
    const current = this.#owners.get(sessionId);
    this.#owners.set(sessionId, { value: tenantId, expiresAt: Math.max(expiresAt, owner === undefined ? 0 : current!.expiresAt) });
    const state = live(this.#states.get(sessionId), now);
    if (state === undefined && Object.keys(valid).length === 0) return;
    this.#states.set(sessionId, { value: { ...(state ?? {}), ...valid }, expiresAt });
  }

  /** Drops expired records, reverse entries, owners and states; resolves with how many connection records were dropped. */
  async sweep(): Promise<number> {
    this.#assertOpen();
    const now = this.#now();
    let removed = 0;
    for (const [sessionId, session] of this.#sessions) {
      for (const [websocketId, entry] of session) {
        if (entry.expiresAt <= now) {
          session.delete(websocketId);
          removed++;
        }
      }
      if (session.size === 0) this.#sessions.delete(sessionId);
    }
    for (const map of [this.#reverse, this.#owners, this.#states] as Map<string, Expiring<unknown>>[]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
    return removed;
  }

  /** Forgets everything; further calls reject with `REGISTRY_ERR_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sessions.clear();
    this.#reverse.clear();
    this.#owners.clear();
    this.#states.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #touchSession(sessionId: string, tenantId: string, ttl: number, now: number): void {
    this.#owners.set(sessionId, { value: tenantId, expiresAt: now + Math.max(this.options.sessionTtlMs, ttl) });
    const state = this.#states.get(sessionId);
    if (state !== undefined && state.expiresAt > now) state.expiresAt = now + this.options.sessionTtlMs;
  }

  #liveRecords(): ConnectionRecord[] {
    const now = this.#now();
    const result: ConnectionRecord[] = [];
    for (const session of this.#sessions.values()) {
      for (const entry of session.values()) if (entry.expiresAt > now) result.push({ ...entry.value });
    }
    return result;
  }

  #now(): number {
    return Math.floor(this.options.clock());
  }

  #assertOpen(): void {
    if (this.#closed) throw new RegistryClosedError("the registry was closed; create a new one");
  }
}

function live<T>(entry: Expiring<T> | undefined, now: number): T | undefined {
  return entry !== undefined && entry.expiresAt > now ? entry.value : undefined;
}
