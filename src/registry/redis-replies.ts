import type { ConnectionRecord } from "./connection-registry.js";
import { RegistryForbiddenError } from "../errors.js";
import { LOOKUP_FIELDS, WRITE_REPLY } from "./lua-scripts.js";

/** Global index fields of a record, in `GLOBAL_INDEX_KINDS` order. */
export type GlobalFields = [agentType: string, pillar: string, instanceId: string, tenantId: string];

/** Cluster: old global index values a websocket id must be removed from (`false` where unchanged). */
export type StaleFields = [string | false, string | false, string | false, string | false];

/** One record's outcome of the write script. */
export interface WriteOutcome {
  /** A {@link WRITE_REPLY} code. */
  code: number;
  /** Repoint of a live record: the kept agent_type, pillar and connected_at, and the instance_id it named before. */
  kept?: [agentType: string, pillar: string, connectedAt: string, previousInstanceId: string];
  /** Cluster: old global index values the websocket id must be removed from (`false` where unchanged). */
  stale?: StaleFields;
  /** Expiry written (epoch ms). */
  exp: number;
}

/** A write as the write script takes it: `create` is a registration of a new id (`newId`, see WRITE_SCRIPT). */
export type WriteMode = "register" | "repoint" | "create";

/** One registration or repoint as the write script takes it (see WRITE_SCRIPT). */
export interface WriteItem {
  readonly mode: WriteMode;
  /** TTL of the record, in ms. */
  readonly ttl: number;
  readonly sessionId: string;
  /** The record's 10 script values, each followed by `\n`. */
  readonly packed: string;
}

/** Packs one record for the write script (ids never contain control characters, so `\n` separates values). */
export function writeItem(mode: WriteMode, ttl: number, r: ConnectionRecord): WriteItem {
  const packed = `${mode}\n${ttl}\n${r.websocket_id}\n${r.session_id}\n${r.tenant_id}\n${r.agent_type}\n${r.pillar}\n${r.instance_id}\n${r.connected_at}\n${r.last_activity_at}\n`;
  return { mode, ttl, sessionId: r.session_id, packed };
}

/** The error of a write refused because `w` has a live record in another session than `s`. */
export function conflictError(w: string, s: string): RegistryForbiddenError {
  return new RegistryForbiddenError(`websocket id ${w} has a live record in another session than ${s}; nothing was written`, { reason: "websocket_id" });
}

/** Splits the write script's flat reply into one outcome per record (see WRITE_SCRIPT). */
export function parseWriteReply(reply: readonly (string | number)[], items: readonly WriteItem[], now: number, full: boolean): WriteOutcome[] {
  const outcomes: WriteOutcome[] = new Array(items.length);
  let pos = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const code = Number(reply[pos++]);
    const outcome: WriteOutcome = { code, exp: now + item.ttl };
    if (code >= 0) {
      if (code === WRITE_REPLY.EXISTED && item.mode === "repoint") {
        outcome.kept = [String(reply[pos]), String(reply[pos + 1]), String(reply[pos + 2]), String(reply[pos + 3])];
        pos += 4;
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

/** One item's outcome of the unregister script. */
export interface UnregisterOutcome {
  /** 1 removed, 0 absent, -1 another tenant's, -2 held by another instance than asked (see UNREGISTER_SCRIPT). */
  code: number;
  /** Removed: the record was live (not yet expired). */
  live: boolean;
  /** Removed: the record's global index fields. */
  fields?: GlobalFields;
}

/** Splits the unregister script's flat reply into one outcome per item (see UNREGISTER_SCRIPT). */
export function parseUnregisterReply(reply: readonly (string | number)[], items: number): UnregisterOutcome[] {
  const outcomes: UnregisterOutcome[] = new Array(items);
  let pos = 0;
  for (let i = 0; i < items; i++) {
    const code = Number(reply[pos++]);
    if (code === 1) {
      outcomes[i] = { code, live: Number(reply[pos]) === 1, fields: reply.slice(pos + 1, pos + 5).map(String) as GlobalFields };
      pos += 5;
    } else {
      outcomes[i] = { code, live: false };
    }
  }
  return outcomes;
}

/** Splits the lookup script's reply (see SESSION_CONNECTIONS_SCRIPT) into the records of each lookup. */
export function parseLookupReply(reply: string, lookups: readonly [string, string, string, string][]): ConnectionRecord[][] {
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

/** Parses an `HMGET` of `RECORD_FIELDS`; `null` when absent or expired at `now`. */
export function parseRecord(values: readonly (string | null | undefined | false)[], now: number): ConnectionRecord | null {
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

/** Orders records by websocket id (the order every list answer of the registry has). */
export function byWebsocketId(a: ConnectionRecord, b: ConnectionRecord): number {
  return a.websocket_id < b.websocket_id ? -1 : a.websocket_id > b.websocket_id ? 1 : 0;
}
