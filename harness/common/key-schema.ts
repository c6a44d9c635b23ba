/**
 * The Redis key schema of docs/design.md, re-derived on the harness side: the harness reads a SUT's registry state
 * directly from Redis and must not import the reference implementation's keys module. The prefix is configurable
 * per SUT (`keyPrefix` of the SUT definition).
 */

/** The prefix of every key of the design. @default "traffic_cop" */
export const DEFAULT_KEY_PREFIX = "traffic_cop";

/**
 * The kind of a key under the prefix (docs/registry.md#key-schema): what `key-ttl` bounds and `state-audit` reads.
 * `other` is any key the schema does not name.
 */
export type KeyKind =
  | "connection"
  | "reverse"
  | "session_index"
  | "session_owner"
  | "session_state"
  | "agent_type_index"
  | "pillar_index"
  | "instance_index"
  | "tenant_index"
  | "index_names"
  | "instance_alive"
  | "instances_alive"
  | "other";

/** Session TTL of the session owner and state keys (docs/registry.md: 24 h, refreshed by every write in the session). */
export const SESSION_TTL_MS = 86_400_000;

/** Key builders and parsers for one prefix. */
export interface KeySchema {
  readonly prefix: string;
  /** `P:session:{S}:websocket:{W}`: hash of the record, with TTL. */
  connection(sessionId: string, websocketId: string): string;
  /** `P:session:{S}:websockets`: sorted set of websocket ids scored by expiry (epoch ms). */
  sessionIndex(sessionId: string): string;
  /** `P:agent_type:{A}:websockets`. */
  agentTypeIndex(agentType: string): string;
  /** `P:pillar:{P}:websockets`. */
  pillarIndex(pillar: string): string;
  /** `P:websocket:{W}:session`: string holding the session id. */
  reverse(websocketId: string): string;
  /** `P:instance:{I}:websockets`: websocket ids held by gateway instance I. */
  instanceIndex(instanceId: string): string;
  /** `P:tenant:{T}:websockets`: websocket ids of tenant T. */
  tenantIndex(tenantId: string): string;
  /** `P:instance:{I}:alive`: gateway instance I's liveness key (string with a TTL, written by the gateway). */
  instanceAlive(instanceId: string): string;
  /** The kind of any key under the prefix (`other` when the schema does not name it). */
  classify(key: string): KeyKind;
  /** `P:session:{S}:state`: hash of the session's state (the seed's Phase 2). */
  sessionState(sessionId: string): string;
  /** SCAN patterns for each family (they also match the cluster hash-tag form `{S}`). */
  readonly patterns: { connection: string; sessionIndex: string; agentTypeIndex: string; pillarIndex: string; reverse: string };
  /** Parses a connection key into its ids, or `null` when the key is not one. */
  parseConnection(key: string): { sessionId: string; websocketId: string } | null;
  /** The id in the middle of an index or reverse key (`P:pillar:{X}:websockets` → X), or `null`. */
  parseMiddle(key: string, family: "session" | "agent_type" | "pillar" | "websocket"): string | null;
}

// Cluster deployments keep `{session_id}` literally as a hash tag; strip braces so both forms parse alike.
function unwrap(id: string): string {
  return id.startsWith("{") && id.endsWith("}") ? id.slice(1, -1) : id;
}

/** Builds the key schema for `prefix`. */
export function createKeySchema(prefix: string = DEFAULT_KEY_PREFIX): KeySchema {
  if (prefix.length === 0 || /[*?[\]\s]/.test(prefix)) throw new TypeError(`key prefix ${JSON.stringify(prefix)} must be non-empty and free of glob characters and spaces`);
  const p = prefix;
  return Object.freeze({
    prefix,
    connection: (s: string, w: string) => `${p}:session:${s}:websocket:${w}`,
    sessionIndex: (s: string) => `${p}:session:${s}:websockets`,
    agentTypeIndex: (a: string) => `${p}:agent_type:${a}:websockets`,
    pillarIndex: (x: string) => `${p}:pillar:${x}:websockets`,
    reverse: (w: string) => `${p}:websocket:${w}:session`,
    sessionState: (s: string) => `${p}:session:${s}:state`,
    instanceIndex: (i: string) => `${p}:instance:${i}:websockets`,
    tenantIndex: (t: string) => `${p}:tenant:${t}:websockets`,
    instanceAlive: (i: string) => `${p}:instance:${i}:alive`,
    classify(key: string): KeyKind {
      if (!key.startsWith(`${p}:`)) return "other";
      const rest = key.slice(p.length + 1);
      const parts = rest.split(":");
      if (parts.length === 1) return ["agent_types", "pillars", "instances", "tenants"].includes(parts[0]!) ? "index_names" : "other";
      if (parts.length === 2) return rest === "instances:alive" ? "instances_alive" : "other";
      const [family, , tail] = parts;
      if (family === "session") {
        if (parts.length === 4 && parts[2] === "websocket") return "connection";
        if (parts.length !== 3) return "other";
        return tail === "websockets" ? "session_index" : tail === "tenant" ? "session_owner" : tail === "state" ? "session_state" : "other";
      }
      if (parts.length !== 3) return "other";
      if (family === "websocket") return tail === "session" ? "reverse" : "other";
      if (family === "instance") return tail === "websockets" ? "instance_index" : tail === "alive" ? "instance_alive" : "other";
      if (tail !== "websockets") return "other";
      return family === "agent_type" ? "agent_type_index" : family === "pillar" ? "pillar_index" : family === "tenant" ? "tenant_index" : "other";
    },
    patterns: Object.freeze({
      connection: `${p}:session:*:websocket:*`,
      sessionIndex: `${p}:session:*:websockets`,
      agentTypeIndex: `${p}:agent_type:*:websockets`,
      pillarIndex: `${p}:pillar:*:websockets`,
      reverse: `${p}:websocket:*:session`,
    }),
    parseConnection(key: string) {
      const head = `${p}:session:`;
      if (!key.startsWith(head)) return null;
      const rest = key.slice(head.length);
      const at = rest.lastIndexOf(":websocket:");
      if (at <= 0) return null;
      const websocketId = rest.slice(at + ":websocket:".length);
      if (websocketId.length === 0 || websocketId.includes(":")) return null;
      return { sessionId: unwrap(rest.slice(0, at)), websocketId };
    },
    parseMiddle(key: string, family: "session" | "agent_type" | "pillar" | "websocket") {
      const head = `${p}:${family}:`;
      const tail = family === "websocket" ? ":session" : ":websockets";
      if (!key.startsWith(head) || !key.endsWith(tail)) return null;
      const middle = key.slice(head.length, key.length - tail.length);
      return middle.length > 0 && !middle.includes(":") ? unwrap(middle) : null;
    },
  });
}
