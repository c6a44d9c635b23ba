/**
 * The Redis key schema of the registry and the gateway: every key and channel name is built here, from one prefix.
 * docs/registry.md documents each key, its type, TTL and the standalone and cluster forms.
 *
 * Standalone form (exactly the seed's): `traffic_cop:session:S:websocket:W`. Cluster form: session-scoped keys carry
 * the session id as a literal hash tag, `traffic_cop:session:{S}:websocket:W`, so that all keys of one session live
 * in one slot and one Lua script can write them atomically. Global keys (agent type, pillar, instance and tenant
 * indexes, the reverse index, the name registries) are the same in both forms.
 */

/** The default key prefix. */
export const DEFAULT_KEY_PREFIX = "traffic_cop";

const SEP = ":";
const SESSION = "session";
const WEBSOCKET = "websocket";
const WEBSOCKETS = "websockets";
const AGENT_TYPE = "agent_type";
const PILLAR = "pillar";
const INSTANCE = "instance";
const TENANT = "tenant";
const STATE = "state";
const ALIVE = "alive";
const MESSAGES = "messages";

/** Kinds of global index, each with a name registry (`<prefix>:<kind>s`) listing the names in use. */
export type GlobalIndexKind = "agent_type" | "pillar" | "instance" | "tenant";

/** The global index kinds, in the order the Lua scripts and sweeps walk them. */
export const GLOBAL_INDEX_KINDS: readonly GlobalIndexKind[] = Object.freeze(["agent_type", "pillar", "instance", "tenant"]);

/** A prefix must be a non-empty run of characters that are not whitespace, `{`, `}` or control characters. */
const PREFIX_PATTERN = /^[^\s{}\p{Cc}]{1,64}$/u;

/** Builds every Redis key and channel name of the registry and gateway from one prefix. Immutable. */
export class RegistryKeys {
  /** The prefix, e.g. `traffic_cop`. */
  readonly prefix: string;
  /** Whether session-scoped keys carry the session id as a hash tag (`{S}`), as Redis Cluster requires. */
  readonly hashTags: boolean;

  /**
   * @param prefix key prefix; tests and runs use their own to isolate themselves. @default "traffic_cop"
   * @param hashTags cluster form of session-scoped keys. @default false
   */
  constructor(prefix: string = DEFAULT_KEY_PREFIX, hashTags = false) {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new TypeError(
        `key prefix ${JSON.stringify(prefix)} is invalid: use 1 to 64 characters without whitespace, braces or control characters`,
      );
    }
    this.prefix = prefix;
    this.hashTags = hashTags;
    Object.freeze(this);
  }

  /** The session id as it appears in session-scoped keys: `{S}` in cluster form, `S` otherwise. */
  sessionTag(sessionId: string): string {
    return this.hashTags ? `{${sessionId}}` : sessionId;
  }

  /** Hash of one connection record, with TTL: `P:session:S:websocket:W`. */
  connection(sessionId: string, websocketId: string): string {
    return this.connectionPrefix(sessionId) + websocketId;
  }

  /** The part of {@link connection} before the websocket id (`P:session:S:websocket:`). */
  connectionPrefix(sessionId: string): string {
    return [this.prefix, SESSION, this.sessionTag(sessionId), WEBSOCKET, ""].join(SEP);
  }

  /** Session index, a sorted set of websocket ids scored by expiry epoch ms: `P:session:S:websockets`. */
  sessionIndex(sessionId: string): string {
    return [this.prefix, SESSION, this.sessionTag(sessionId), WEBSOCKETS].join(SEP);
  }

  /** Owner of a session, a string holding the tenant id, with the session TTL: `P:session:S:tenant`. */
  sessionTenant(sessionId: string): string {
    return [this.prefix, SESSION, this.sessionTag(sessionId), TENANT].join(SEP);
  }

  /** Session state (Phase 2), a hash with the session TTL: `P:session:S:state`. */
  sessionState(sessionId: string): string {
    return [this.prefix, SESSION, this.sessionTag(sessionId), STATE].join(SEP);
  }

  /** Agent type index, a sorted set of websocket ids scored by expiry: `P:agent_type:A:websockets`. */
  agentTypeIndex(agentType: string): string {
    return this.globalIndex("agent_type", agentType);
  }

  /** Pillar index, a sorted set of websocket ids scored by expiry: `P:pillar:P:websockets`. */
  pillarIndex(pillar: string): string {
    return this.globalIndex("pillar", pillar);
  }

  /** Per-instance index, a sorted set of websocket ids scored by expiry: `P:instance:I:websockets`. */
  instanceIndex(instanceId: string): string {
    return this.globalIndex("instance", instanceId);
  }

  /** Per-tenant index, a sorted set of websocket ids scored by expiry: `P:tenant:T:websockets`. */
  tenantIndex(tenantId: string): string {
    return this.globalIndex("tenant", tenantId);
  }

  /** The index of one kind: `P:<kind>:<name>:websockets`. */
  globalIndex(kind: GlobalIndexKind, name: string): string {
    return [this.prefix, kind, name, WEBSOCKETS].join(SEP);
  }

  /**
   * Name registry of one index kind, a sorted set of names (agent types, pillars, instances, tenants) scored by the
   * latest expiry of any of their members: `P:agent_types`, `P:pillars`, `P:instances`, `P:tenants`. Lets
   * `sweep()` and `counts()` reach every index without scanning the keyspace.
   */
  indexNames(kind: GlobalIndexKind): string {
    return `${this.prefix}${SEP}${kind}s`;
  }

  /** Reverse index, a string holding the session id of a websocket id, with the record's TTL: `P:websocket:W:session`. */
  reverse(websocketId: string): string {
    return [this.prefix, WEBSOCKET, websocketId, SESSION].join(SEP);
  }

  /** Liveness key of a gateway instance (written by the gateway, with a short TTL): `P:instance:I:alive`. */
  instanceAlive(instanceId: string): string {
    return [this.prefix, INSTANCE, instanceId, ALIVE].join(SEP);
  }

  /** Sorted set of gateway instances scored by their liveness deadline (epoch ms), kept by the gateway: `P:instances:alive`. */
  aliveInstances(): string {
    return [this.prefix, `${INSTANCE}s`, ALIVE].join(SEP);
  }

  /** Pub/sub channel on which a gateway instance receives messages routed to its sockets: `P:instance:I:messages`. */
  instanceChannel(instanceId: string): string {
    return [this.prefix, INSTANCE, instanceId, MESSAGES].join(SEP);
  }
}

/**
 * Lua functions that build the same keys as {@link RegistryKeys} inside scripts, from the prefix (`p`) and the
 * hash-tag flag (`h`, `"1"` or `"0"`) passed as arguments. Generated from the same segments, so they cannot drift.
 * @internal
 */
export const LUA_KEY_FUNCTIONS = `
local function k_tag(h, s) if h == '1' then return '{' .. s .. '}' end return s end
local function k_conn(p, h, s, w) return p .. '${SEP}${SESSION}${SEP}' .. k_tag(h, s) .. '${SEP}${WEBSOCKET}${SEP}' .. w end
local function k_sindex(p, h, s) return p .. '${SEP}${SESSION}${SEP}' .. k_tag(h, s) .. '${SEP}${WEBSOCKETS}' end
local function k_owner(p, h, s) return p .. '${SEP}${SESSION}${SEP}' .. k_tag(h, s) .. '${SEP}${TENANT}' end
local function k_state(p, h, s) return p .. '${SEP}${SESSION}${SEP}' .. k_tag(h, s) .. '${SEP}${STATE}' end
local function k_gindex(p, kind, name) return p .. '${SEP}' .. kind .. '${SEP}' .. name .. '${SEP}${WEBSOCKETS}' end
local function k_names(p, kind) return p .. '${SEP}' .. kind .. 's' end
local function k_reverse(p, w) return p .. '${SEP}${WEBSOCKET}${SEP}' .. w .. '${SEP}${SESSION}' end
local KINDS = { '${AGENT_TYPE}', '${PILLAR}', '${INSTANCE}', '${TENANT}' }
`;
