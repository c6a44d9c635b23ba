import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import { RegistryForbiddenError } from "../errors.js";
import type { ConnectionRecord, ConnectionRegistry, RepointResult } from "../registry/connection-registry.js";
import type { ClusterBus } from "./cluster-bus.js";
import type { ConnectionTable, LocalConnection } from "./connection-table.js";
import type { Failpoints } from "./failpoints.js";
import type { FrameHandler } from "./frame-handler.js";
import { TokenError, requestToken, verifyJwt, type TokenClaims, type VerifyJwtOptions } from "./jwt.js";
import type { GatewayMetrics } from "./metrics.js";
import { HTTP_STATUS, isValidId, toProtocolError, welcomeFrame, type ProtocolErrorCode } from "./protocol.js";
import type { RegistryWriter } from "./registry-writer.js";
import { skipRedundantReceiverEnds, skipRedundantSocketEnd } from "./redundant-end.js";

/** Most registry writes of upgrades in flight at once; more are refused with 503. */
export const MAX_PENDING_UPGRADES = 2_000;
/**
 * Failpoint `welcome-before-write`: how long after the welcome the record is written, in ms. The probe that catches
 * it looks the connection up from another instance right after the welcome; at 250 ms a stall of the harness that
 * long between the two hid the defect, and loaded CI machines stall the harness for over a second now and then.
 */
const WRITE_BEHIND_MS = 2_000;
/**
 * A request target that is `/ws` with a query of printable ASCII and no fragment: `new URL()` would leave its path
 * and query as they are, so the query is parsed directly.
 */
const PLAIN_WS_URL = /^\/ws\?[!"$-~]*$/;
/** The {@link LocalConnection} of a gateway's socket, so that one set of listeners serves every socket. */
const CONNECTION = Symbol("connection");

/** The connection a socket carries (set before any listener is attached). */
function connectionOf(ws: WebSocket): LocalConnection {
  return (ws as WebSocket & { [CONNECTION]: LocalConnection })[CONNECTION];
}

/** The `error` listener of a socket asking for an upgrade (shared: `this` is the socket). */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The `pong` listener of every socket (shared: `this` is the socket). */
function onPong(this: WebSocket): void {
  connectionOf(this).alive = true;
}

/** What an {@link UpgradeHandler} needs. */
export interface UpgradeHandlerOptions {
  instanceId: string;
  /** HS256 secret of client tokens. */
  authSecret: string;
  /** How tokens are checked: the contract's checks, departed from only by failpoints (jwt.ts `VerifyJwtOptions`). @default the contract's checks */
  tokenChecks?: VerifyJwtOptions;
  /** Rate-limit tokens a new socket starts with. */
  rateLimitBurst: number;
  registry: ConnectionRegistry;
  bus: ClusterBus;
  wss: WebSocketServer;
  connections: ConnectionTable;
  writer: RegistryWriter;
  frames: FrameHandler;
  metrics: GatewayMetrics;
  failpoints: Failpoints;
  /** Whether the gateway accepts connections (not starting, draining or stopped). */
  accepting(): boolean;
}

/**
 * Writes an HTTP error answer on a socket that asked for an upgrade, and closes it: `{"error":{code,message}}` with
 * the code's status.
 */
export function refuseUpgrade(socket: Duplex, code: ProtocolErrorCode, message: string): void {
  const status = HTTP_STATUS[code];
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.destroyed) {
    socket.end(
      `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

/**
 * The WebSocket handshake: validates the request and its token, writes (or resumes) the record, and only then
 * answers 101 with the welcome frame; a client that left, or a drain that began, meanwhile takes the record back
 * out. The socket then goes to the {@link ConnectionTable} and its frames to the {@link FrameHandler}.
 */
export class UpgradeHandler {
  readonly #options: UpgradeHandlerOptions;
  #pending = 0;
  // The listeners of every socket, made once rather than as closures per socket (less to allocate on each connect
  // and less to hold per idle connection); `this` is the socket, which carries its connection.
  readonly #onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  readonly #onError: (error: Error & { code?: string }) => void;
  readonly #onClose: (this: WebSocket, code: number) => void;

  constructor(options: UpgradeHandlerOptions) {
    this.#options = options;
    // ws ends a closing socket's frame receiver up to three times (redundant-end.ts).
    skipRedundantReceiverEnds();
    const { frames, metrics, connections, writer, failpoints } = options;
    this.#onMessage = function (data, isBinary) {
      frames.handle(connectionOf(this), data, isBinary);
    };
    this.#onError = (error) => {
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") metrics.errors.inc({ code: "PAYLOAD_TOO_LARGE" });
    };
    this.#onClose = function (code) {
      const connection = connectionOf(this);
      connections.remove(connection);
      // 1006: the socket ended without a close frame (terminate(), a killed process, a reset): the gateway knows as
      // well as after a close frame that the connection is gone. Failpoint `no-unregister-on-terminate`: keep it.
      if (code === 1006 && failpoints.enabled("no-unregister-on-terminate")) return;
      if (!connection.moved) writer.unregister(connection.record);
    };
  }

  /** Upgrades whose registry write is in flight. */
  get pending(): number {
    return this.#pending;
  }

  /** The `upgrade` listener of the HTTP server. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", destroyOnError);
    void this.#accept(req, socket, head).catch((error: unknown) => {
      // Counted as every other refusal: in traffic_cop_upgrades_refused_total as well as in the errors.
      const protocolError = toProtocolError(error);
      this.#refuse(socket, protocolError.code, protocolError.message);
    });
  }

  #refuse(socket: Duplex, code: ProtocolErrorCode, message: string): void {
    this.#options.metrics.upgradesRefused.inc({ status: String(HTTP_STATUS[code]) });
    this.#options.metrics.errors.inc({ code });
    // Failpoint `registrations-count-refusals`: the refusal is counted as a new registration too.
    if (this.#options.failpoints.enabled("registrations-count-refusals")) this.#options.metrics.registrations.inc({ kind: "new" });
    refuseUpgrade(socket, code, message);
  }

  async #accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { instanceId, bus, connections, writer, metrics, failpoints } = this.#options;
    if (!this.#options.accepting()) return this.#refuse(socket, "DRAINING", "this instance is draining: connect to another instance");
    let query: URLSearchParams;
    const rawUrl = req.url ?? "/";
    if (PLAIN_WS_URL.test(rawUrl)) {
      // What `new URL()` would make of it, without building the URL.
      query = new URLSearchParams(rawUrl.slice(4));
    } else {
      let url: URL;
      try {
        url = new URL(rawUrl, "http://gateway");
      } catch {
        return this.#refuse(socket, "INVALID_REQUEST", "malformed request URL");
      }
      if (url.pathname !== "/ws") return this.#refuse(socket, "NOT_FOUND", `no WebSocket endpoint at ${url.pathname.slice(0, 100)}: use /ws`);
      query = url.searchParams;
    }
    let claims: TokenClaims;
    try {
      claims = verifyJwt(requestToken(req, query), this.#options.authSecret, Date.now(), this.#options.tokenChecks);
    } catch (error) {
      return this.#refuse(socket, "UNAUTHORIZED", error instanceof TokenError ? error.message : "invalid token");
    }
    const sessionId = query.get("session_id");
    if (!sessionId) return this.#refuse(socket, "SESSION_ID_REQUIRED", "session_id is required in the query string");
    const agentType = query.get("agent_type");
    const pillar = query.get("pillar");
    const resumeId = query.get("websocket_id");
    const invalid = !isValidId(sessionId) ? "session_id" : !isValidId(agentType) ? "agent_type" : !isValidId(pillar) ? "pillar" : undefined;
    if (invalid !== undefined) return this.#refuse(socket, "INVALID_REQUEST", `${invalid} is required: 1-128 characters without whitespace, ':' or braces`);
    if (resumeId !== null && !isValidId(resumeId)) return this.#refuse(socket, "INVALID_REQUEST", "websocket_id must be 1-128 characters without whitespace, ':' or braces");
    // Failpoint `no-session-pin`: a token pinned to one session connects to any.
    if (claims.session_id !== undefined && claims.session_id !== sessionId && !failpoints.enabled("no-session-pin")) {
      return this.#refuse(socket, "FORBIDDEN", "the token is pinned to another session");
    }
    if (this.#pending >= MAX_PENDING_UPGRADES) return this.#refuse(socket, "REGISTRY_UNAVAILABLE", "too many connections being registered; retry later");
    this.#pending++;
    let record: ConnectionRecord;
    let resumed = false;
    /** A new connection's record while its write is in flight: if the write fails, it may still have landed. */
    let writing: ConnectionRecord | undefined;
    try {
      const now = Date.now();
      const fresh: ConnectionRecord = {
        websocket_id: randomUUID(),
        session_id: sessionId,
        tenant_id: claims.tenant_id,
        agent_type: agentType!,
        pillar: pillar!,
        instance_id: instanceId,
        connected_at: now,
        last_activity_at: now,
      };
      // Failpoint `no-resume`: every resume request is a new connection.
      const resume = resumeId !== null && !failpoints.enabled("no-resume") ? await this.#resume({ ...fresh, websocket_id: resumeId }) : undefined;
      if (resume) {
        record = resume.record;
        resumed = resume.existed;
        const local = connections.get(record.websocket_id);
        if (local) connections.evict(local);
        if (resume.previousInstanceId !== undefined && resume.previousInstanceId !== instanceId) {
          void bus.publish(resume.previousInstanceId, { t: "evict", id: record.websocket_id, by: instanceId }).catch(() => undefined);
        }
        metrics.registrations.inc({ kind: "resume" });
      } else if (failpoints.enabled("welcome-before-write")) {
        // Failpoint `welcome-before-write`: a write-behind; the welcome does not wait for the record.
        setTimeout(() => void writer.register(fresh).catch(() => undefined), WRITE_BEHIND_MS).unref();
        record = fresh;
        metrics.registrations.inc({ kind: "new" });
      } else {
        writing = fresh;
        await writer.register(fresh);
        record = fresh;
        metrics.registrations.inc({ kind: "new" });
      }
    } catch (error) {
      // A write that timed out (a slow or overloaded Redis) may still have run: take the record back out, or it
      // stays a ghost of a refused connection until its TTL (seen in `flood` at load average 25). Its id is new, so
      // the removal can hit nothing else; a removal that fails is retried with the others.
      if (writing !== undefined) writer.unregister(writing);
      const protocolError = toProtocolError(error);
      return this.#refuse(socket, protocolError.code, protocolError.message);
    } finally {
      this.#pending--;
    }
    if (socket.destroyed || !this.#options.accepting()) {
      // The client left (or a drain began) while the record was written: take it back out.
      writer.unregister(record);
      if (!socket.destroyed) this.#refuse(socket, "DRAINING", "this instance is draining: connect to another instance");
      return;
    }
    // ws ends the socket a second time when the client closes (redundant-end.ts).
    skipRedundantSocketEnd(socket);
    // ws answers the handshake and calls back synchronously: corked, the 101 response and the welcome leave in one
    // write (one syscall and one packet instead of two).
    socket.cork();
    try {
      this.#options.wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, record, resumed));
    } finally {
      socket.uncork();
    }
  }

  /**
   * Re-points the record of a resumed connection here, in one registry write (the write itself refuses an id that
   * is live in another session, and reports the instance that held the record). Undefined when the id is not this
   * client's to take over: it lives in another session (of any tenant), so the connection gets a new id instead and
   * nobody can hijack or shadow another session's connection.
   * Failpoint `resume-new-id-after-expiry`: the old record is read first, and a resume whose old record is gone
   * (expired, reaped, closed) is treated as a new connection.
   */
  async #resume(record: ConnectionRecord): Promise<RepointResult | undefined> {
    const { registry, writer, failpoints } = this.#options;
    if (failpoints.enabled("resume-new-id-after-expiry") && (await registry.getConnection(record.tenant_id, record.session_id, record.websocket_id)) === null) {
      return undefined;
    }
    try {
      return await writer.repoint(record);
    } catch (error) {
      if (error instanceof RegistryForbiddenError && error.reason === "websocket_id") return undefined;
      throw error;
    }
  }

  #onConnection(ws: WebSocket, record: ConnectionRecord, resumed: boolean): void {
    const connection: LocalConnection = {
      ws,
      record,
      alive: true,
      active: false,
      tokens: this.#options.rateLimitBurst,
      refilledAt: Date.now(),
      moved: false,
    };
    (ws as WebSocket & { [CONNECTION]: LocalConnection })[CONNECTION] = connection;
    this.#options.connections.add(connection);
    ws.on("pong", onPong);
    ws.on("message", this.#onMessage);
    ws.on("error", this.#onError);
    // ws emits `close` once per socket: `on` spares the wrapper `once` would allocate.
    ws.on("close", this.#onClose);
    ws.send(welcomeFrame(record, resumed));
  }
}
