import { RegistryArgumentError } from "../errors.js";
import type { ConnectionFilter, ConnectionRecord, HeartbeatEntry, SessionState } from "./connection-registry.js";

/** Longest accepted id (session, websocket, tenant, agent type, pillar, instance), in characters. */
export const MAX_ID_LENGTH = 128;
/** Largest accepted TTL: 30 days, in milliseconds. */
export const MAX_TTL_MS = 30 * 24 * 3_600_000;
/** Most entries accepted by one `heartbeat()` call. */
export const MAX_HEARTBEAT_ENTRIES = 100_000;
/** Most fields in one session state patch. */
export const MAX_STATE_FIELDS = 1_000;
/** Longest session state field name, in characters. */
export const MAX_STATE_FIELD_LENGTH = 256;
/** Longest session state value, in characters. */
export const MAX_STATE_VALUE_LENGTH = 65_536;

/** Ids may not contain the key separator `:`, braces (hash tags), whitespace or control characters. */
const ID_PATTERN = /^[^\s:{}\p{Cc}]+$/u;
const FILTER_KEYS = new Set(["agent_type", "pillar"]);
const RECORD_ID_FIELDS = ["websocket_id", "session_id", "tenant_id", "agent_type", "pillar", "instance_id"] as const;
const RECORD_TIME_FIELDS = ["connected_at", "last_activity_at"] as const;

/** Throws {@link RegistryArgumentError} unless `value` is a usable id. */
export function assertId(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new RegistryArgumentError(`${name} must be a string, got ${typeof value}`);
  }
  if (value.length === 0) throw new RegistryArgumentError(`${name} must not be empty`);
  if (value.length > MAX_ID_LENGTH) {
    throw new RegistryArgumentError(`${name} is ${value.length} characters long; the limit is ${MAX_ID_LENGTH}`);
  }
  if (!ID_PATTERN.test(value)) {
    throw new RegistryArgumentError(
      `${name} ${JSON.stringify(value)} contains ':', '{', '}', whitespace or a control character, which the key schema forbids`,
    );
  }
}

/** Checks the arguments of `unregister` (both implementations); returns the `ifInstanceId` condition, if any. */
export function validateUnregister(tenantId: unknown, sessionId: unknown, websocketId: unknown, options: { ifInstanceId?: unknown } | undefined): string | undefined {
  assertId("tenantId", tenantId);
  assertId("sessionId", sessionId);
  assertId("websocketId", websocketId);
  const ifInstanceId = options?.ifInstanceId;
  if (ifInstanceId !== undefined) assertId("ifInstanceId", ifInstanceId);
  return ifInstanceId;
}

/** Throws unless `value` is an epoch-ms timestamp (a finite, non-negative integer). */
export function assertEpochMs(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RegistryArgumentError(`${name} must be a non-negative integer of epoch milliseconds, got ${String(value)}`);
  }
}

/** Throws unless `value` is a positive integer TTL of at most {@link MAX_TTL_MS}. */
export function assertTtlMs(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > MAX_TTL_MS) {
    throw new RegistryArgumentError(`${name} must be a positive integer of milliseconds up to ${MAX_TTL_MS}, got ${String(value)}`);
  }
}

/** Validates a record and returns a plain copy holding exactly the record's fields. */
export function validateRecord(record: unknown): ConnectionRecord {
  if (typeof record !== "object" || record === null) throw new RegistryArgumentError("record must be an object");
  const input = record as Record<string, unknown>;
  for (const field of RECORD_ID_FIELDS) assertId(`record.${field}`, input[field]);
  for (const field of RECORD_TIME_FIELDS) assertEpochMs(`record.${field}`, input[field]);
  return {
    websocket_id: input.websocket_id as string,
    session_id: input.session_id as string,
    tenant_id: input.tenant_id as string,
    agent_type: input.agent_type as string,
    pillar: input.pillar as string,
    instance_id: input.instance_id as string,
    connected_at: input.connected_at as number,
    last_activity_at: input.last_activity_at as number,
  };
}

/** Validates a session lookup filter; unknown keys are rejected rather than silently ignored. */
export function validateFilter(filter: unknown): ConnectionFilter {
  if (filter === undefined || filter === null) return {};
  if (typeof filter !== "object" || Array.isArray(filter)) throw new RegistryArgumentError("filter must be an object");
  const result: ConnectionFilter = {};
  for (const [key, value] of Object.entries(filter)) {
    if (!FILTER_KEYS.has(key)) {
      throw new RegistryArgumentError(`unknown filter ${JSON.stringify(key)}: the filters are agent_type and pillar`);
    }
    if (value === undefined) continue;
    assertId(`filter.${key}`, value);
    result[key as keyof ConnectionFilter] = value;
  }
  return result;
}

/** Validates the optional `{ ttlMs }` of a write and returns the TTL to use. */
export function resolveTtl(options: { ttlMs?: number } | undefined, fallbackMs: number): number {
  if (options === undefined || options.ttlMs === undefined) return fallbackMs;
  assertTtlMs("ttlMs", options.ttlMs);
  return options.ttlMs;
}

/** Validates heartbeat entries. */
export function validateHeartbeatEntries(entries: unknown): HeartbeatEntry[] {
  if (!Array.isArray(entries)) throw new RegistryArgumentError("heartbeat entries must be an array");
  if (entries.length > MAX_HEARTBEAT_ENTRIES) {
    throw new RegistryArgumentError(`heartbeat got ${entries.length} entries; the limit per call is ${MAX_HEARTBEAT_ENTRIES}`);
  }
  return entries.map((entry: unknown, index) => {
    if (typeof entry !== "object" || entry === null) throw new RegistryArgumentError(`heartbeat entry ${index} must be an object`);
    const { session_id, websocket_id, last_activity_at } = entry as Record<string, unknown>;
    assertId(`entries[${index}].session_id`, session_id);
    assertId(`entries[${index}].websocket_id`, websocket_id);
    if (last_activity_at !== undefined) assertEpochMs(`entries[${index}].last_activity_at`, last_activity_at);
    return last_activity_at === undefined
      ? { session_id, websocket_id }
      : { session_id, websocket_id, last_activity_at: last_activity_at as number };
  });
}

/** Validates a session state patch. */
export function validateStatePatch(patch: unknown): SessionState {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new RegistryArgumentError("session state patch must be an object of string values");
  }
  const entries = Object.entries(patch);
  if (entries.length > MAX_STATE_FIELDS) {
    throw new RegistryArgumentError(`session state patch has ${entries.length} fields; the limit is ${MAX_STATE_FIELDS}`);
  }
  const result: SessionState = {};
  for (const [field, value] of entries) {
    if (field.length === 0 || field.length > MAX_STATE_FIELD_LENGTH) {
      throw new RegistryArgumentError(`session state field names must be 1 to ${MAX_STATE_FIELD_LENGTH} characters long`);
    }
    if (typeof value !== "string") {
      throw new RegistryArgumentError(`session state field ${JSON.stringify(field)} must be a string, got ${typeof value}`);
    }
    if (value.length > MAX_STATE_VALUE_LENGTH) {
      throw new RegistryArgumentError(`session state field ${JSON.stringify(field)} is longer than ${MAX_STATE_VALUE_LENGTH} characters`);
    }
    result[field] = value;
  }
  return result;
}
