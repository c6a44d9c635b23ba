/**
 * The Redis key schema of docs/design.md, re-derived on the harness side: the harness reads a SUT's registry state
 * directly from Redis and must not import the reference implementation's keys module. The prefix is configurable
 * per SUT (`keyPrefix` of the SUT definition).
 */

/** The prefix of every key of the design. @default "traffic_cop" */
export const DEFAULT_KEY_PREFIX = "traffic_cop";

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
