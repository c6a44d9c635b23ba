/**
 * Wire protocol v1 (docs/protocol.md): parsing and validation of client frames, and the server frames.
 * Pure functions, no I/O.
 */
import type { ConnectionRecord, SessionState } from "../registry/connection-registry.js";

/** Stable error codes on the wire, in `{"type":"error","code"}` frames and `{"error":{"code"}}` HTTP bodies. */
export type ProtocolErrorCode =
  | "SESSION_ID_REQUIRED"
  | "INVALID_MESSAGE"
  | "INVALID_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "REGISTRY_UNAVAILABLE"
  | "PAYLOAD_TOO_LARGE"
  | "RATE_LIMITED"
  | "DRAINING"
  | "INTERNAL";

/** HTTP status of each error code. */
export const HTTP_STATUS: Readonly<Record<ProtocolErrorCode, number>> = Object.freeze({
  SESSION_ID_REQUIRED: 400,
  INVALID_MESSAGE: 400,
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  REGISTRY_UNAVAILABLE: 503,
  DRAINING: 503,
  INTERNAL: 500,
});

/** WebSocket close codes the gateway uses. */
export const CLOSE_CODES = Object.freeze({
  /** The server is going away for good. */
  GOING_AWAY: 1001,
  /** A policy violation, e.g. another tenant's session (reason `FORBIDDEN`). */
  POLICY: 1008,
  /** A frame bigger than `MAX_MESSAGE_BYTES` (reason `PAYLOAD_TOO_LARGE`). */
  TOO_BIG: 1009,
  /** Drain: the instance restarts; resume elsewhere with the same `websocket_id`. */
  SERVICE_RESTART: 1012,
  /** The connection was resumed on another socket (same `websocket_id`). */
  RESUMED_ELSEWHERE: 4000,
  /** The socket held more unsent frames than `MAX_BUFFERED_BYTES` (it stopped reading): shed (reason `SLOW_CONSUMER`). */
  SLOW_CONSUMER: 4008,
});

/** A protocol failure with its stable code; `id` echoes the frame's id when it had a usable one. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ProtocolErrorCode;
  readonly id: FrameId | undefined;

  constructor(code: ProtocolErrorCode, message: string, id?: FrameId) {
    super(message);
    this.code = code;
    this.id = id;
  }
}

/** A client-chosen frame id, echoed in the answer. */
export type FrameId = string | number;

/** Where a route goes: one connection, or the connections of a session matching the filters (all when none). */
export type RouteTarget = { websocket_id: string } | { agent_type?: string; pillar?: string };

/** `{"type":"route"}`: deliver `payload` to the targets in `session_id`. */
export interface RouteFrame {
  type: "route";
  id: FrameId;
  session_id: string;
  to: RouteTarget;
  payload: unknown;
}

/** `{"type":"ping"}`: answered with `{"type":"pong"}`. */
export interface PingFrame {
  type: "ping";
  id?: FrameId;
}

/** `{"type":"session_state"}`: read the socket's session state, merging `set` first when given. */
export interface SessionStateFrame {
  type: "session_state";
  id: FrameId;
  set?: SessionState;
}

/** Any valid client frame. */
export type ClientFrame = RouteFrame | PingFrame | SessionStateFrame;

/** Largest id, session id, websocket id, agent type or pillar accepted, in characters. */
export const MAX_ID_LENGTH = 128;
/** Most fields one session state update may set. */
export const MAX_STATE_FIELDS = 256;
/** Longest session state field value, in characters. */
export const MAX_STATE_VALUE_LENGTH = 16_384;

// Registry keys embed ids, so the characters that structure keys are refused at the edge.
const ID_PATTERN = /^[^\s:{}\u0000-\u001f]+$/u;

/** Whether `value` is a usable id (session, websocket, agent type, pillar): 1-128 characters, no whitespace, `:` or braces. */
export function isValidId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH && ID_PATTERN.test(value);
}

function frameId(value: unknown): FrameId | undefined {
  if (typeof value === "string" && value.length <= MAX_ID_LENGTH) return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates a route target object; throws `INVALID_MESSAGE`. */
export function parseRouteTarget(to: unknown, id?: FrameId): RouteTarget {
  if (!isPlainObject(to)) throw new ProtocolError("INVALID_MESSAGE", "to must be an object: {websocket_id} or {agent_type?, pillar?}", id);
  if (to.websocket_id !== undefined) {
    if (!isValidId(to.websocket_id)) throw new ProtocolError("INVALID_MESSAGE", "to.websocket_id must be a valid id", id);
    if (to.agent_type !== undefined || to.pillar !== undefined) {
      throw new ProtocolError("INVALID_MESSAGE", "to takes either websocket_id or agent_type/pillar, not both", id);
    }
    return { websocket_id: to.websocket_id };
  }
  const target: { agent_type?: string; pillar?: string } = {};
  for (const field of ["agent_type", "pillar"] as const) {
    const value = to[field];
    if (value === undefined) continue;
    if (!isValidId(value)) throw new ProtocolError("INVALID_MESSAGE", `to.${field} must be a valid id`, id);
    target[field] = value;
  }
  return target;
}

/** Validates a session state patch (flat string map); throws `INVALID_MESSAGE`. */
export function parseStatePatch(set: unknown, id?: FrameId): SessionState {
  if (!isPlainObject(set)) throw new ProtocolError("INVALID_MESSAGE", "set must be an object of string values", id);
  const entries = Object.entries(set);
  if (entries.length > MAX_STATE_FIELDS) throw new ProtocolError("INVALID_MESSAGE", `set may hold at most ${MAX_STATE_FIELDS} fields`, id);
  const patch: SessionState = {};
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > MAX_ID_LENGTH) throw new ProtocolError("INVALID_MESSAGE", `state field names must be 1-${MAX_ID_LENGTH} characters`, id);
    if (typeof value !== "string" || value.length > MAX_STATE_VALUE_LENGTH) {
      throw new ProtocolError("INVALID_MESSAGE", `state field ${JSON.stringify(key)} must be a string of at most ${MAX_STATE_VALUE_LENGTH} characters`, id);
    }
    patch[key] = value;
  }
  return patch;
}

/**
 * Parses one text frame into a {@link ClientFrame}. Throws {@link ProtocolError} with `INVALID_MESSAGE`
 * (bad JSON, unknown type, bad fields) or `SESSION_ID_REQUIRED` (a route without `session_id`).
 */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError("INVALID_MESSAGE", "frame is not valid JSON");
  }
  if (!isPlainObject(value)) throw new ProtocolError("INVALID_MESSAGE", "frame must be a JSON object");
  const id = frameId(value.id);
  if (value.id !== undefined && id === undefined) {
    throw new ProtocolError("INVALID_MESSAGE", `id must be a string of at most ${MAX_ID_LENGTH} characters or a number`);
  }
  switch (value.type) {
    case "ping":
      return id === undefined ? { type: "ping" } : { type: "ping", id };
    case "route": {
      if (id === undefined) throw new ProtocolError("INVALID_MESSAGE", "route needs an id (string or number) to acknowledge");
      if (value.session_id === undefined || value.session_id === null || value.session_id === "") {
        throw new ProtocolError("SESSION_ID_REQUIRED", "route needs session_id: the session whose connections receive it", id);
      }
      if (!isValidId(value.session_id)) throw new ProtocolError("INVALID_MESSAGE", "session_id must be a valid id", id);
      const to = parseRouteTarget(value.to, id);
      return { type: "route", id, session_id: value.session_id, to, payload: value.payload ?? null };
    }
    case "session_state": {
      if (id === undefined) throw new ProtocolError("INVALID_MESSAGE", "session_state needs an id (string or number)");
      if (value.set === undefined) return { type: "session_state", id };
      return { type: "session_state", id, set: parseStatePatch(value.set, id) };
    }
    default:
      throw new ProtocolError(
        "INVALID_MESSAGE",
        typeof value.type === "string" ? `unknown frame type ${JSON.stringify(value.type.slice(0, 64))}` : "frame needs a string type",
        id,
      );
  }
}

/** `{"type":"welcome"}`, the first server frame, sent once the record is in the registry. */
export function welcomeFrame(record: ConnectionRecord, resumed: boolean): string {
  return JSON.stringify({
    type: "welcome",
    websocket_id: record.websocket_id,
    instance_id: record.instance_id,
    session_id: record.session_id,
    resumed,
  });
}

/** `{"type":"message"}` as delivered to a target. `from` is the sender's websocket id, or `null` for HTTP. */
export function messageFrame(id: FrameId, from: string | null, sessionId: string, payload: unknown): string {
  return JSON.stringify({ type: "message", id, from, session_id: sessionId, payload });
}

/**
 * `{"type":"ack"}` of a route: `delivered` counts sockets confirmed to have received the message; `partial` marks
 * it as a lower bound (Redis was unavailable and only the answering instance's own sockets could be reached, or a
 * holding instance's confirmation did not come back in time).
 */
export function ackFrame(id: FrameId, delivered: number, partial?: boolean): string {
  return JSON.stringify(partial ? { type: "ack", id, delivered, partial: true } : { type: "ack", id, delivered });
}

/** `{"type":"error"}`. */
export function errorFrame(code: ProtocolErrorCode, message: string, id?: FrameId): string {
  return JSON.stringify(id === undefined ? { type: "error", code, message } : { type: "error", id, code, message });
}

/** `{"type":"pong"}`. */
export function pongFrame(id?: FrameId): string {
  return JSON.stringify(id === undefined ? { type: "pong" } : { type: "pong", id });
}

/** `{"type":"session_state"}` answer. */
export function sessionStateFrame(id: FrameId, sessionId: string, state: SessionState): string {
  return JSON.stringify({ type: "session_state", id, session_id: sessionId, state });
}

/** `{"type":"reconnect"}`: the drain notice. */
export function reconnectFrame(retryAfterMs: number): string {
  return JSON.stringify({ type: "reconnect", reason: "draining", retry_after_ms: retryAfterMs });
}

/** Maps a registry or protocol failure to a wire error code. */
export function toProtocolError(error: unknown, id?: FrameId): ProtocolError {
  // An error raised deeper down may lack the frame id; the client needs it to match the answer to its frame.
  if (error instanceof ProtocolError) return error.id === undefined && id !== undefined ? new ProtocolError(error.code, error.message, id) : error;
  if (error && typeof error === "object" && "code" in error) {
    const code = (error as { code: string }).code;
    if (code === "REGISTRY_ERR_FORBIDDEN") {
      const idInUse = (error as { reason?: string }).reason === "websocket_id";
      return new ProtocolError("FORBIDDEN", idInUse ? "the websocket_id is live in another session" : "the session belongs to another tenant", id);
    }
    if (code === "REGISTRY_ERR_INVALID_ARGUMENT") return new ProtocolError("INVALID_MESSAGE", (error as unknown as Error).message, id);
    if (code === "REGISTRY_ERR_UNAVAILABLE" || code === "REGISTRY_ERR_CLOSED") {
      return new ProtocolError("REGISTRY_UNAVAILABLE", "the registry (Redis) is unavailable; retry later", id);
    }
  }
  return new ProtocolError("INTERNAL", "internal error", id);
}
