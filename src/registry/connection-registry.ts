/**
 * The connection registry of the seed design: where every gateway instance records the WebSocket connections it
 * holds, so that all instances share one view. Implementations: {@link RedisConnectionRegistry} (the design) and
 * {@link MemoryConnectionRegistry} (the seed's "before" design, kept as a negative control).
 *
 * Every read takes the caller's tenant: data of another tenant is indistinguishable from absent data.
 */

/** One connection, as stored in the registry and sent on the wire. Times are epoch milliseconds. */
export interface ConnectionRecord {
  websocket_id: string;
  session_id: string;
  tenant_id: string;
  agent_type: string;
  pillar: string;
  /** The gateway instance that holds the socket. */
  instance_id: string;
  connected_at: number;
  last_activity_at: number;
}

/** Optional filters of a session lookup; both must match when both are given. */
export interface ConnectionFilter {
  agent_type?: string;
  pillar?: string;
}

/** A connection addressed for a batch heartbeat. */
export interface HeartbeatEntry {
  session_id: string;
  websocket_id: string;
  /** New `last_activity_at`; unchanged when absent. */
  last_activity_at?: number;
}

/** Result of a batch heartbeat. */
export interface HeartbeatResult {
  /** How many records had their TTL refreshed. */
  refreshed: number;
  /** websocket ids whose record no longer exists (expired, reaped, or lost with a Redis restart): re-register them. */
  missing: string[];
}

/** Connection counts for metrics. Only live (unexpired) connections count. */
export interface ConnectionCounts {
  total: number;
  byInstance: Record<string, number>;
  byTenant: Record<string, number>;
}

/** Result of a resume or migration: the record as it now stands and whether the old one still existed. */
export interface RepointResult {
  record: ConnectionRecord;
  /** `true` when the old record still existed; `false` when it had expired or been removed and was written anew. */
  existed: boolean;
  /** The instance the old record named, when it still existed: a resume tells it to close its socket (if any). */
  previousInstanceId?: string;
}

/** Session state of the seed's Phase 2: a flat string map that outlives connections and instance restarts. */
export type SessionState = Record<string, string>;

/** Options of {@link ConnectionRegistry.register}. */
export interface RegisterOptions {
  /** TTL of the record, in ms (default: the registry's). */
  ttlMs?: number;
  /**
   * The caller minted the record's `websocket_id` just now (a random UUID, as a gateway does for every new
   * connection), so no record of it exists: the write does not look for an old one (one Redis command less per
   * registration). Do not set it for an id that may have been registered before: an old record of the id in the same
   * session would then be overwritten without its old index entries being removed.
   */
  newId?: boolean;
}

/** The registry's contract. All methods reject with a {@link TrafficCopError} carrying a stable `code`. */
export interface ConnectionRegistry {
  /**
   * Writes a connection record and its index entries atomically, with TTL `ttlMs` (default: the registry's).
   * The first registration of a session claims it for the record's tenant; registering into another tenant's
   * session rejects with `REGISTRY_ERR_FORBIDDEN` and writes nothing.
   */
  register(record: ConnectionRecord, options?: RegisterOptions): Promise<void>;

  /** The seed's `get_connection(session_id, websocket_id)`: the record, or `null` if absent, expired or another tenant's. */
  getConnection(tenantId: string, sessionId: string, websocketId: string): Promise<ConnectionRecord | null>;

  /** Looks a connection up by websocket id alone, through the reverse index. */
  findConnection(tenantId: string, websocketId: string): Promise<ConnectionRecord | null>;

  /** The reverse index: the session of a websocket id, or `null`. */
  getSessionIdOf(tenantId: string, websocketId: string): Promise<string | null>;

  /** The seed's `get_session_connections`: live connections of a session, optionally filtered. O(connections of the session). */
  getSessionConnections(tenantId: string, sessionId: string, filter?: ConnectionFilter): Promise<ConnectionRecord[]>;

  /**
   * Removes a record and its index entries atomically. Resolves `true` if it existed. Another tenant's record is left alone (`false`).
   * With `ifInstanceId`, the record is only removed while its `instance_id` equals it (checked atomically with the
   * removal): a gateway closing or draining a socket, or reaping a dead instance, must not remove a record that
   * another instance has since taken over by a resume.
   */
  unregister(tenantId: string, sessionId: string, websocketId: string, options?: { ifInstanceId?: string }): Promise<boolean>;

  /** The seed's `update_connection_activity`: sets `last_activity_at` and refreshes the TTL. `false` if the record is gone. */
  updateActivity(tenantId: string, sessionId: string, websocketId: string, atMs?: number): Promise<boolean>;

  /** Refreshes the TTLs (and optionally activity) of many connections in one round trip. */
  heartbeat(entries: readonly HeartbeatEntry[], options?: { ttlMs?: number }): Promise<HeartbeatResult>;

  /**
   * Re-points a connection to `instanceId` (resume on another instance, migration during a deploy). If the old
   * record is gone, `fallback` is registered in its place. Rejects with `REGISTRY_ERR_FORBIDDEN` if the session
   * belongs to another tenant (`reason` "tenant") or the websocket id has a live record in another session
   * (`reason` "websocket_id"); nothing is written then.
   */
  repoint(fallback: ConnectionRecord, options?: { ttlMs?: number }): Promise<RepointResult>;

  /** Live connections owned by an instance (for reconciliation and reaping of a dead instance). */
  listInstanceConnections(instanceId: string): Promise<ConnectionRecord[]>;

  /** Live connection counts for metrics. */
  counts(): Promise<ConnectionCounts>;

  /** The tenant that owns a session, or `null` if the session is unknown. */
  getSessionTenant(sessionId: string): Promise<string | null>;

  /** Reads a session's state; `{}` when none or another tenant's. */
  getSessionState(tenantId: string, sessionId: string): Promise<SessionState>;

  /** Merges fields into a session's state (claims the session for the tenant if unclaimed). */
  updateSessionState(tenantId: string, sessionId: string, patch: SessionState): Promise<void>;

  /** Prunes expired index members; resolves with how many were removed. */
  sweep(): Promise<number>;

  /** Releases connections to Redis. Further calls reject with `REGISTRY_ERR_CLOSED`. */
  close(): Promise<void>;
}
