import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectionRecord, ConnectionRegistry } from "../registry/connection-registry.js";
import { NO_FAILPOINTS, type Failpoints } from "./failpoints.js";
import type { GatewayState, RouteResult } from "./gateway-types.js";
import { TokenError, requestToken, verifyJwt, type TokenClaims, type VerifyJwtOptions } from "./jwt.js";
import type { GatewayMetrics } from "./metrics.js";
import {
  HTTP_STATUS,
  ProtocolError,
  isValidId,
  parseRouteTarget,
  parseStatePatch,
  toProtocolError,
  type FrameId,
  type ProtocolErrorCode,
  type RouteTarget,
} from "./protocol.js";

/** What the HTTP API uses of a gateway: nothing more, so that it can be served (and tested) without the server. */
export interface HttpApiHost {
  /** This instance's id, in `/healthz` and `/readyz`. */
  readonly instanceId: string;
  /** HS256 secret of the Bearer tokens. */
  readonly authSecret: string;
  /** How tokens are checked: the contract's checks, departed from only by failpoints (jwt.ts `VerifyJwtOptions`). @default the contract's checks */
  readonly tokenChecks?: VerifyJwtOptions;
  /** The negative-control policy (failpoint `no-tenant-check-session-state` acts here). @default every failpoint off */
  readonly failpoints?: Failpoints;
  /** Largest accepted body, in bytes (`MAX_MESSAGE_BYTES`). */
  readonly maxMessageBytes: number;
  /** `/metrics` text and the error and route-request counters. */
  readonly metrics: Pick<GatewayMetrics, "render" | "errors" | "routeRequests">;
  /** Session state reads and writes (tenant-checked by the registry). */
  readonly sessions: Pick<ConnectionRegistry, "getSessionTenant" | "getSessionState" | "updateSessionState">;
  /** What `/readyz` reports. */
  readiness(): { ready: boolean; state: GatewayState; redis: boolean };
  /** A connection of the caller's tenant by websocket id, or `null`. */
  findConnection(tenantId: string, websocketId: string): Promise<ConnectionRecord | null>;
  /** Every connection of a session of the caller's tenant (empty when missing or foreign). */
  sessionConnections(tenantId: string, sessionId: string): Promise<ConnectionRecord[]>;
  /** Routes a message, as the WebSocket `route` frame does. */
  route(tenantId: string, sessionId: string, to: RouteTarget, payload: unknown, id: FrameId, fromWebsocketId: string | null): Promise<RouteResult>;
}

const JSON_TYPE = "application/json";

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

function sendError(gateway: HttpApiHost, res: ServerResponse, code: ProtocolErrorCode, message: string): void {
  gateway.metrics.errors.inc({ code });
  send(res, HTTP_STATUS[code], { error: { code, message } });
}

/** Reads a JSON body of at most `limit` bytes; rejects with `PAYLOAD_TOO_LARGE` or `INVALID_REQUEST`. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      reject(new ProtocolError("PAYLOAD_TOO_LARGE", `body larger than MAX_MESSAGE_BYTES (${limit})`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new ProtocolError("PAYLOAD_TOO_LARGE", `body larger than MAX_MESSAGE_BYTES (${limit})`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (error) => {
      if (!failed) reject(error);
      failed = true;
    });
    req.on("end", () => {
      if (failed) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new ProtocolError("INVALID_REQUEST", "body is not valid JSON"));
      }
    });
  });
}

function authenticate(gateway: HttpApiHost, req: IncomingMessage, url: URL): TokenClaims {
  try {
    return verifyJwt(requestToken(req, url), gateway.authSecret, Date.now(), gateway.tokenChecks);
  } catch (error) {
    throw new ProtocolError("UNAUTHORIZED", error instanceof TokenError ? error.message : "invalid token");
  }
}

function decodeSegment(segment: string): string {
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch {
    throw new ProtocolError("INVALID_REQUEST", "malformed percent-encoding in the path");
  }
  // An id that could never exist is simply not found, the same answer as a missing or foreign one.
  if (!isValidId(value)) throw new ProtocolError("NOT_FOUND", "not found");
  return value;
}

const NOT_FOUND_SESSION = "no such session";
const NOT_FOUND_CONNECTION = "no such connection";

/**
 * The gateway's HTTP API (docs/protocol.md): health, readiness, metrics, lookups, message posts and session
 * state. Every `/v1` route takes a Bearer JWT and sees only its tenant's data; another tenant's data answers
 * exactly as missing data does (404).
 */
export async function handleHttpRequest(gateway: HttpApiHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://gateway");
  } catch {
    return sendError(gateway, res, "INVALID_REQUEST", "malformed request URL");
  }
  const method = req.method ?? "GET";
  const path = url.pathname;
  const allow = (...methods: string[]): boolean => {
    if (methods.includes(method)) return true;
    res.setHeader("allow", methods.join(", "));
    sendError(gateway, res, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${path}; use ${methods.join(" or ")}`);
    return false;
  };
  try {
    if (path === "/healthz") {
      if (!allow("GET", "HEAD")) return;
      return send(res, 200, { status: "ok", instance_id: gateway.instanceId });
    }
    if (path === "/readyz") {
      if (!allow("GET", "HEAD")) return;
      const { ready, state, redis } = gateway.readiness();
      return send(res, ready ? 200 : 503, { ready, state, redis, instance_id: gateway.instanceId });
    }
    if (path === "/metrics") {
      if (!allow("GET")) return;
      const text = gateway.metrics.render();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const segments = path.split("/").filter(Boolean);
    if (segments[0] !== "v1") return sendError(gateway, res, "NOT_FOUND", `no route ${path.slice(0, 100)}`);

    // /v1/connections/:websocket_id
    if (segments.length === 3 && segments[1] === "connections") {
      if (!allow("GET")) return;
      const claims = authenticate(gateway, req, url);
      const websocketId = decodeSegment(segments[2]!);
      const record = await gateway.findConnection(claims.tenant_id, websocketId);
      if (!record) throw new ProtocolError("NOT_FOUND", NOT_FOUND_CONNECTION);
      return send(res, 200, record);
    }

    if (segments.length === 4 && segments[1] === "sessions") {
      const claims = authenticate(gateway, req, url);
      const sessionId = decodeSegment(segments[2]!);
      switch (segments[3]) {
        case "connections": {
          if (!allow("GET")) return;
          const filter: { agent_type?: string; pillar?: string } = {};
          for (const field of ["agent_type", "pillar"] as const) {
            const value = url.searchParams.get(field);
            if (value === null || value === "") continue;
            if (!isValidId(value)) throw new ProtocolError("INVALID_REQUEST", `${field} must be 1-128 characters without whitespace, ':' or braces`);
            filter[field] = value;
          }
          const all = await gateway.sessionConnections(claims.tenant_id, sessionId);
          if (all.length === 0) throw new ProtocolError("NOT_FOUND", NOT_FOUND_SESSION);
          const connections = all.filter(
            (record) => (filter.agent_type === undefined || record.agent_type === filter.agent_type) && (filter.pillar === undefined || record.pillar === filter.pillar),
          );
          return send(res, 200, { connections });
        }
        case "messages": {
          if (!allow("POST")) return;
          const body = await readJsonBody(req, gateway.maxMessageBytes);
          if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ProtocolError("INVALID_REQUEST", 'body must be {"to":{...},"payload":...}');
          const { to, payload } = body as { to?: unknown; payload?: unknown };
          let target;
          try {
            target = parseRouteTarget(to ?? {});
          } catch (error) {
            throw new ProtocolError("INVALID_REQUEST", (error as Error).message);
          }
          const id = `http-${randomUUID()}`;
          gateway.metrics.routeRequests.inc({ origin: "http" });
          const result = await gateway.route(claims.tenant_id, sessionId, target, payload ?? null, id, null);
          return send(res, 200, result.partial ? { id, delivered: result.delivered, partial: true } : { id, delivered: result.delivered });
        }
        case "state": {
          if (!allow("GET", "PUT")) return;
          if (method === "PUT") {
            const body = await readJsonBody(req, gateway.maxMessageBytes);
            if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ProtocolError("INVALID_REQUEST", 'body must be {"set":{"field":"value",...}}');
            let patch;
            try {
              patch = parseStatePatch((body as { set?: unknown }).set);
            } catch (error) {
              throw new ProtocolError("INVALID_REQUEST", (error as Error).message);
            }
            // Only an existing session of the caller's tenant may be written: anything else is "not found".
            if ((await gateway.sessions.getSessionTenant(sessionId)) !== claims.tenant_id) throw new ProtocolError("NOT_FOUND", NOT_FOUND_SESSION);
            await gateway.sessions.updateSessionState(claims.tenant_id, sessionId, patch);
          }
          // Failpoint `no-tenant-check-session-state`: a read takes the session's own tenant instead of the caller's.
          const readAs = (gateway.failpoints ?? NO_FAILPOINTS).enabled("no-tenant-check-session-state") ? ((await gateway.sessions.getSessionTenant(sessionId)) ?? claims.tenant_id) : claims.tenant_id;
          const state = await gateway.sessions.getSessionState(readAs, sessionId);
          return send(res, 200, { session_id: sessionId, state });
        }
      }
    }
    return sendError(gateway, res, "NOT_FOUND", `no route ${path.slice(0, 100)}`);
  } catch (error) {
    const protocolError = toProtocolError(error);
    // A foreign session is indistinguishable from a missing one, also on writes.
    const code = protocolError.code === "FORBIDDEN" ? "NOT_FOUND" : protocolError.code;
    return sendError(gateway, res, code, code === "NOT_FOUND" && protocolError.code === "FORBIDDEN" ? NOT_FOUND_SESSION : protocolError.message);
  }
}

/** The HTTP server's request listener: {@link handleHttpRequest}, with a 500 for anything it did not answer. */
export function httpRequestListener(gateway: HttpApiHost): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handleHttpRequest(gateway, req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }));
      } else {
        res.destroy();
      }
    });
  };
}
