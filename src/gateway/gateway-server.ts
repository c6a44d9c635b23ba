import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { ConnectionRecord, ConnectionRegistry } from "../registry/connection-registry.js";
import { TrafficCopError } from "../errors.js";
import type { BusMessage, ClusterBus, DeliverRequest } from "./cluster-bus.js";
import { resolveGatewayOptions, type GatewayDefect, type GatewayOptions, type ResolvedGatewayOptions } from "./gateway-options.js";
import { Heartbeat } from "./heartbeat.js";
import { handleHttpRequest } from "./http-api.js";
import { TokenError, requestToken, verifyJwt, type TokenClaims } from "./jwt.js";
import { GatewayMetrics } from "./metrics.js";
import {
  CLOSE_CODES,
  HTTP_STATUS,
  ProtocolError,
  ackFrame,
  toProtocolError,
  errorFrame,
  isValidId,
  messageFrame,
  parseClientFrame,
  pongFrame,
  reconnectFrame,
  sessionStateFrame,
  welcomeFrame,
  type ClientFrame,
  type FrameId,
  type ProtocolErrorCode,
  type RouteTarget,
} from "./protocol.js";
import { Reaper } from "./reaper.js";

/** Lifecycle states of a {@link GatewayServer}, also emitted as `{"event":"state"}` log lines. */
export type GatewayState = "idle" | "starting" | "accepting" | "draining" | "stopped";

/** A registry and a cluster bus: what a gateway needs besides its options. */
export interface GatewayBackend {
  registry: ConnectionRegistry;
  bus: ClusterBus;
}

/** A WebSocket held by this instance. */
interface LocalConnection {
  readonly ws: WebSocket;
  readonly record: ConnectionRecord;
  /** Answered the last ping. */
  alive: boolean;
  /** Frames since the last heartbeat: `last_activity_at` needs a refresh. */
  active: boolean;
  tokens: number;
  refilledAt: number;
  /** Resumed on another socket: closing this one must not remove the record. */
  moved: boolean;
}

/** Result of routing one message. */
export interface RouteResult {
  /** Sockets confirmed to have been handed the message. */
  delivered: number;
  /**
   * `true` when `delivered` is only a lower bound: Redis was unavailable and only this instance's sockets were
   * reached, or a holding instance got the request but its count did not come back in time.
   */
  partial?: boolean;
}

/** What one holding instance confirmed of a remote delivery. */
interface RemoteDelivery {
  delivered: number;
  /** False when the holder's answer did not come back in time: it may have delivered more than `delivered`. */
  confirmed: boolean;
}

/** Close-time frame budget before a slow consumer is cut off, in bytes. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How long sockets get to complete the close handshake before `terminate()`, in ms. */
const CLOSE_GRACE_MS = 1_000;
/** Most remote deliveries awaiting confirmation at once; more fail fast with REGISTRY_UNAVAILABLE. */
const MAX_PENDING_REMOTE = 10_000;
/** Most registry writes of upgrades in flight at once; more are refused with 503. */
const MAX_PENDING_UPGRADES = 2_000;
/**
 * A request target that is `/ws` with a query of printable ASCII and no fragment: `new URL()` would leave its path
 * and query as they are, so the query is parsed directly.
 */
const PLAIN_WS_URL = /^\/ws\?[!"$-~]*$/;
/** Spread of drain reconnect hints, so clients do not all reconnect in the same millisecond, in ms. */
const MAX_RETRY_AFTER_MS = 1_000;

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, time: Date.now(), ...fields })}\n`);
}

function refuseUpgrade(socket: Duplex, code: ProtocolErrorCode, message: string): void {
  const status = HTTP_STATUS[code];
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.destroyed) {
    socket.end(
      `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

/**
 * The Traffic Cop gateway: WebSocket connections recorded in a shared registry, routing across instances over
 * per-instance pub/sub channels, heartbeats, reaping of dead instances, drain, HTTP API and metrics.
 *
 * `start()` listens; `drain()` is the SIGTERM path (reconnect notice, wait for clients to resume elsewhere, close
 * the rest with 1012); `stop()` closes at once with 1001. Both are idempotent and end in state `stopped`.
 */
export class GatewayServer implements AsyncDisposable {
  readonly options: ResolvedGatewayOptions;
  readonly metrics: GatewayMetrics;
  readonly #backendFactory: (options: ResolvedGatewayOptions) => Promise<GatewayBackend>;
  readonly #connections = new Map<string, LocalConnection>();
  readonly #pendingRemote = new Map<string, { resolve: (n: number) => void; timer: NodeJS.Timeout }>();
  readonly #pendingUnregisters = new Set<Promise<unknown>>();
  #registry!: ConnectionRegistry;
  #bus!: ClusterBus;
  #http?: Server;
  #wss?: WebSocketServer;
  #heartbeat?: Heartbeat;
  #reaper?: Reaper;
  #state: GatewayState = "idle";
  #port = 0;
  #pendingUpgrades = 0;
  #turnQueue: Array<() => void> = [];
  #writesInFlight = 0;
  #writesScheduled = false;
  #requestSeq = 0;
  #stopping?: Promise<void>;
  #reconciling?: Promise<number>;

  /**
   * @param options gateway options (see {@link GatewayOptions}); validated here.
   * @param backendFactory builds the registry and bus; by default from `options.registry` and `options.redisUrl`.
   */
  constructor(options: GatewayOptions | ResolvedGatewayOptions, backendFactory?: (options: ResolvedGatewayOptions) => Promise<GatewayBackend>) {
    this.options = "livenessTtlMs" in options ? (options as ResolvedGatewayOptions) : resolveGatewayOptions(options);
    this.#backendFactory = backendFactory ?? (async (resolved) => (await import("./backend.js")).createGatewayBackend(resolved));
    this.metrics = new GatewayMetrics(
      () => {
        const counts = new Map<string, number>();
        for (const connection of this.#connections.values()) {
          counts.set(connection.record.tenant_id, (counts.get(connection.record.tenant_id) ?? 0) + 1);
        }
        return counts;
      },
      () => this.#state !== "idle" && this.#bus?.healthy === true,
    );
  }

  /** Current lifecycle state. */
  get state(): GatewayState {
    return this.#state;
  }

  /** The port listened on (the picked one when `port` was 0). */
  get port(): number {
    return this.#port;
  }

  /** This instance's id. */
  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Number of WebSockets this instance holds. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Ready for traffic: accepting connections and Redis answers. */
  get ready(): boolean {
    return this.#state === "accepting" && this.#bus.healthy;
  }

  /** The registry, for the HTTP API. @internal */
  get registry(): ConnectionRegistry {
    return this.#registry;
  }

  /** The bus, for the HTTP API's defect path. @internal */
  get bus(): ClusterBus {
    return this.#bus;
  }

  /** Whether a defect is switched on. @internal */
  hasDefect(name: GatewayDefect): boolean {
    return this.options.defects.has(name);
  }

  /** Connects to the registry, subscribes, starts heartbeats and the reaper, and listens. */
  async start(): Promise<this> {
    if (this.#state !== "idle") throw new TrafficCopError("GATEWAY_ERR_INVALID_STATE", `gateway cannot start from state ${this.#state}: create a new GatewayServer`);
    this.#state = "starting";
    try {
      const backend = await this.#backendFactory(this.options);
      this.#registry = instrumentRegistry(backend.registry, this.metrics);
      this.#bus = backend.bus;
      await this.#bus.start({
        onMessage: (message) => this.#onBusMessage(message),
        onDown: () => log("redis_down", { instance_id: this.instanceId }),
        onUp: () => {
          log("redis_up", { instance_id: this.instanceId });
          void this.reconcile().catch(() => undefined);
          void this.#reaper?.tick().catch(() => undefined);
        },
      });
      this.#wss = new WebSocketServer({
        noServer: true,
        // Frames up to twice the limit are read so that they can be answered with PAYLOAD_TOO_LARGE; bigger ones
        // are cut off by ws itself (close 1009).
        maxPayload: this.options.maxMessageBytes * 2,
        perMessageDeflate: false,
        clientTracking: false,
      });
      this.#http = createServer((req, res) => this.#onRequest(req, res));
      this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
      this.#http.on("clientError", (_error, socket) => refuseUpgrade(socket, "INVALID_REQUEST", "malformed HTTP request"));
      this.#http.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        this.#http!.once("error", reject);
        this.#http!.listen(this.options.port, this.options.host, () => {
          this.#http!.off("error", reject);
          resolve();
        });
      });
      const address = this.#http.address();
      this.#port = typeof address === "object" && address ? address.port : this.options.port;
      this.#heartbeat = new Heartbeat(this.options.heartbeatIntervalMs, () => this.#heartbeatTick());
      this.#heartbeat.start();
      this.#reaper = new Reaper({
        instanceId: this.instanceId,
        bus: this.#bus,
        registry: this.#registry,
        livenessTtlMs: this.options.livenessTtlMs,
        intervalMs: this.options.livenessIntervalMs,
        metrics: this.metrics,
        log,
      });
      await this.#reaper.tick().catch(() => undefined);
      this.#reaper.start();
      this.#state = "accepting";
      return this;
    } catch (error) {
      this.#state = "stopped";
      await this.#release();
      throw error;
    }
  }

  // ---------------------------------------------------------------- connections

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    void this.#acceptUpgrade(req, socket, head).catch((error: unknown) => {
      const protocolError = toProtocolError(error);
      this.#countError(protocolError.code);
      refuseUpgrade(socket, protocolError.code, protocolError.message);
    });
  }

  #refuse(socket: Duplex, code: ProtocolErrorCode, message: string): void {
    this.metrics.upgradesRefused.inc({ status: String(HTTP_STATUS[code]) });
    this.#countError(code);
    refuseUpgrade(socket, code, message);
  }

  async #acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.#state !== "accepting") return this.#refuse(socket, "DRAINING", "this instance is draining: connect to another instance");
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
      claims = verifyJwt(requestToken(req, query), this.options.authSecret);
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
    if (claims.session_id !== undefined && claims.session_id !== sessionId) {
      return this.#refuse(socket, "FORBIDDEN", "the token is pinned to another session");
    }
    if (this.#pendingUpgrades >= MAX_PENDING_UPGRADES) return this.#refuse(socket, "REGISTRY_UNAVAILABLE", "too many connections being registered; retry later");
    this.#pendingUpgrades++;
    let record: ConnectionRecord;
    let resumed = false;
    try {
      const now = Date.now();
      const fresh: ConnectionRecord = {
        websocket_id: randomUUID(),
        session_id: sessionId,
        tenant_id: claims.tenant_id,
        agent_type: agentType!,
        pillar: pillar!,
        instance_id: this.instanceId,
        connected_at: now,
        last_activity_at: now,
      };
      // A websocket id that lives in another session (of any tenant) is not this client's to take over: the
      // connection gets a new id instead, so that nobody can hijack or shadow another session's connection.
      const resumable = resumeId !== null && !this.hasDefect("no-resume") && ((await this.#bus.sessionOfAnyTenant(resumeId)) ?? sessionId) === sessionId;
      if (resumable) {
        const previous = await this.#registry.getConnection(claims.tenant_id, sessionId, resumeId);
        const result = await this.#registry.repoint({ ...fresh, websocket_id: resumeId }, { ttlMs: this.options.connectionTtlMs });
        record = result.record;
        resumed = result.existed;
        const local = this.#connections.get(resumeId);
        if (local) this.#evict(local);
        if (previous && previous.instance_id !== this.instanceId) {
          void this.#bus.publish(previous.instance_id, { t: "evict", id: resumeId, by: this.instanceId }).catch(() => undefined);
        }
        this.metrics.registrations.inc({ kind: "resume" });
      } else {
        await this.#nextTurn(() => this.#registry.register(fresh, { ttlMs: this.options.connectionTtlMs }));
        record = fresh;
        this.metrics.registrations.inc({ kind: "new" });
      }
    } catch (error) {
      const protocolError = toProtocolError(error);
      return this.#refuse(socket, protocolError.code, protocolError.message);
    } finally {
      this.#pendingUpgrades--;
    }
    if (socket.destroyed || this.#state !== "accepting") {
      // The client left (or a drain began) while the record was written: take it back out.
      this.#unregister(record);
      if (!socket.destroyed) this.#refuse(socket, "DRAINING", "this instance is draining: connect to another instance");
      return;
    }
    // ws answers the handshake and calls back synchronously: corked, the 101 response and the welcome leave in one
    // write (one syscall and one packet instead of two).
    socket.cork();
    try {
      this.#wss!.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, record, resumed));
    } finally {
      socket.uncork();
    }
  }

  #onConnection(ws: WebSocket, record: ConnectionRecord, resumed: boolean): void {
    const connection: LocalConnection = {
      ws,
      record,
      alive: true,
      active: false,
      tokens: this.options.rateLimitBurst,
      refilledAt: Date.now(),
      moved: false,
    };
    const existing = this.#connections.get(record.websocket_id);
    if (existing) this.#evict(existing);
    this.#connections.set(record.websocket_id, connection);
    ws.on("pong", () => (connection.alive = true));
    ws.on("message", (data, isBinary) => this.#onFrame(connection, data, isBinary));
    ws.on("error", (error: Error & { code?: string }) => {
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.#countError("PAYLOAD_TOO_LARGE");
    });
    ws.once("close", () => this.#onClose(connection));
    ws.send(welcomeFrame(record, resumed));
  }

  #evict(connection: LocalConnection): void {
    connection.moved = true;
    if (this.#connections.get(connection.record.websocket_id) === connection) this.#connections.delete(connection.record.websocket_id);
    connection.ws.close(CLOSE_CODES.RESUMED_ELSEWHERE, "RESUMED_ELSEWHERE");
  }

  #onClose(connection: LocalConnection): void {
    if (this.#connections.get(connection.record.websocket_id) === connection) this.#connections.delete(connection.record.websocket_id);
    if (!connection.moved) this.#unregister(connection.record);
  }

  /** Removes a record this instance owns; leaves it alone when another instance has taken it over. */
  #unregister(record: ConnectionRecord): void {
    if (this.hasDefect("no-unregister")) return;
    const task = (async () => {
      if (await this.#nextTurn(() => this.#registry.unregister(record.tenant_id, record.session_id, record.websocket_id, { ifInstanceId: this.instanceId }))) {
        this.metrics.unregistrations.inc();
      }
    })().catch(() => undefined); // Redis down: the record expires with its TTL, as documented.
    this.#pendingUnregisters.add(task);
    void task.finally(() => this.#pendingUnregisters.delete(task));
  }

  /**
   * Group commit of registry writes (registrations of upgrades, removals on close): while a group is in flight,
   * new writes wait and then start together in one tick, so the registry batches them into one script call and
   * ioredis sends them in one syscall. Under light load a write starts at the end of the current event-loop turn;
   * under heavy load groups grow with it, which keeps the Redis and gateway CPU per connect low.
   */
  #nextTurn<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#turnQueue.push(() => {
        let pending: Promise<T>;
        try {
          pending = work();
        } catch (error) {
          pending = Promise.reject(error);
        }
        this.#writesInFlight++;
        pending.then(resolve, reject).finally(() => {
          if (--this.#writesInFlight === 0 && this.#turnQueue.length > 0) this.#startWrites();
        });
      });
      if (this.#writesInFlight === 0 && !this.#writesScheduled) {
        this.#writesScheduled = true;
        setImmediate(() => this.#startWrites());
      }
    });
  }

  #startWrites(): void {
    this.#writesScheduled = false;
    const queue = this.#turnQueue;
    this.#turnQueue = [];
    for (const run of queue) run();
  }

  #send(connection: LocalConnection, text: string): boolean {
    const { ws } = connection;
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      // A consumer this slow would make us hold unbounded memory for it.
      ws.terminate();
      return false;
    }
    ws.send(text);
    return true;
  }

  #countError(code: ProtocolErrorCode): void {
    this.metrics.errors.inc({ code });
  }

  #sendError(connection: LocalConnection, error: ProtocolError): void {
    this.#countError(error.code);
    this.#send(connection, errorFrame(error.code, error.message, error.id));
  }

  #onFrame(connection: LocalConnection, data: RawData, isBinary: boolean): void {
    connection.active = true;
    const size = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    if (size > this.options.maxMessageBytes) {
      this.#sendError(connection, new ProtocolError("PAYLOAD_TOO_LARGE", `frame of ${size} bytes exceeds MAX_MESSAGE_BYTES (${this.options.maxMessageBytes})`));
      connection.ws.close(CLOSE_CODES.TOO_BIG, "PAYLOAD_TOO_LARGE");
      return;
    }
    const now = Date.now();
    connection.tokens = Math.min(
      this.options.rateLimitBurst,
      connection.tokens + ((now - connection.refilledAt) / 1000) * this.options.rateLimitPerSec,
    );
    connection.refilledAt = now;
    const text = isBinary ? undefined : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as Buffer).toString("utf8");
    let frame: ClientFrame;
    try {
      if (connection.tokens < 1) {
        let id: FrameId | undefined;
        try {
          const parsed = text === undefined ? undefined : (JSON.parse(text) as { id?: unknown });
          if (typeof parsed?.id === "string" || typeof parsed?.id === "number") id = parsed.id;
        } catch {
          // The id is only a courtesy here.
        }
        throw new ProtocolError("RATE_LIMITED", `more than ${this.options.rateLimitPerSec} frames/s (burst ${this.options.rateLimitBurst}); slow down`, id);
      }
      connection.tokens -= 1;
      if (text === undefined) throw new ProtocolError("INVALID_MESSAGE", "binary frames are not part of the protocol: send JSON text");
      frame = parseClientFrame(text);
    } catch (error) {
      this.#sendError(connection, toProtocolError(error));
      return;
    }
    switch (frame.type) {
      case "ping":
        this.#send(connection, pongFrame(frame.id));
        return;
      case "route": {
        const routeFrame = frame;
        this.metrics.routeRequests.inc({ origin: "ws" });
        void this.route(connection.record.tenant_id, routeFrame.session_id, routeFrame.to, routeFrame.payload, routeFrame.id, connection.record.websocket_id).then(
          (result) => this.#send(connection, ackFrame(routeFrame.id, result.delivered, result.partial)),
          (error: unknown) => this.#sendError(connection, toProtocolError(error, routeFrame.id)),
        );
        return;
      }
      case "session_state": {
        const stateFrame = frame;
        const { tenant_id: tenantId, session_id: sessionId } = connection.record;
        void (async () => {
          if (stateFrame.set) await this.#registry.updateSessionState(tenantId, sessionId, stateFrame.set);
          return this.#registry.getSessionState(tenantId, sessionId);
        })().then(
          (state) => this.#send(connection, sessionStateFrame(stateFrame.id, sessionId, state)),
          (error: unknown) => this.#sendError(connection, toProtocolError(error, stateFrame.id)),
        );
        return;
      }
    }
  }

  // ---------------------------------------------------------------- routing

  /** The tenant whose data a lookup reads: the caller's, or the data's own under the `no-tenant-check` defect. @internal */
  async lookupTenant(tenantId: string, sessionId: string): Promise<string> {
    if (!this.hasDefect("no-tenant-check")) return tenantId;
    return (await this.#registry.getSessionTenant(sessionId)) ?? tenantId;
  }

  /**
   * Delivers `payload` to the targets of `to` in `sessionId` (of `tenantId`), here and on other instances, and
   * resolves with how many sockets received it. `fromWebsocketId` never receives its own route. Rejects with
   * `NOT_FOUND` when the target connection, or every connection of the session, is missing or another tenant's.
   */
  async route(tenantId: string, sessionId: string, to: RouteTarget, payload: unknown, id: FrameId, fromWebsocketId: string | null): Promise<RouteResult> {
    const frame = messageFrame(id, fromWebsocketId, sessionId, payload);
    let targets: ConnectionRecord[];
    if ("websocket_id" in to) {
      const local = this.#connections.get(to.websocket_id);
      if (local && local.record.session_id === sessionId && (local.record.tenant_id === tenantId || this.hasDefect("no-tenant-check"))) {
        // Held here: the local map is authoritative, so this works without Redis too.
        targets = [local.record];
      } else {
        let record: ConnectionRecord | null;
        try {
          record = await this.#registry.getConnection(await this.lookupTenant(tenantId, sessionId), sessionId, to.websocket_id);
        } catch (error) {
          throw toProtocolError(error, id);
        }
        if (!record) throw new ProtocolError("NOT_FOUND", "no such connection in this session", id);
        targets = [record];
      }
    } else {
      let all: ConnectionRecord[];
      try {
        all = await this.#registry.getSessionConnections(await this.lookupTenant(tenantId, sessionId), sessionId);
      } catch (error) {
        const protocolError = toProtocolError(error, id);
        if (protocolError.code !== "REGISTRY_UNAVAILABLE") throw protocolError;
        // Degraded mode: this instance's own sockets are still reachable.
        const local = [...this.#connections.values()]
          .map((connection) => connection.record)
          .filter((record) => record.session_id === sessionId && record.tenant_id === tenantId && matches(record, to) && record.websocket_id !== fromWebsocketId);
        if (local.length === 0) throw protocolError;
        return { delivered: this.#deliverLocal(local.map((record) => record.websocket_id), frame), partial: true };
      }
      if (all.length === 0) throw new ProtocolError("NOT_FOUND", "no such session", id);
      targets = all.filter((record) => matches(record, to));
    }
    targets = targets.filter((record) => record.websocket_id !== fromWebsocketId);
    const byInstance = new Map<string, string[]>();
    for (const record of targets) {
      const ids = byInstance.get(record.instance_id) ?? [];
      ids.push(record.websocket_id);
      byInstance.set(record.instance_id, ids);
    }
    let delivered = 0;
    let unconfirmed = false;
    const remote: Promise<RemoteDelivery>[] = [];
    for (const [instanceId, ids] of byInstance) {
      if (instanceId === this.instanceId) delivered += this.#deliverLocal(ids, frame);
      else remote.push(this.#deliverRemote(instanceId, ids, frame));
    }
    for (const outcome of await Promise.all(remote)) {
      delivered += outcome.delivered;
      unconfirmed ||= !outcome.confirmed;
    }
    return unconfirmed ? { delivered, partial: true } : { delivered };
  }

  #deliverLocal(ids: readonly string[], frame: string): number {
    let delivered = 0;
    for (const id of ids) {
      const connection = this.#connections.get(id);
      if (connection && this.#send(connection, frame)) delivered++;
    }
    this.metrics.routes.inc({ path: "local" }, delivered);
    return delivered;
  }

  /**
   * Publishes to the holder's channel and waits (bounded) for its count of sockets that got the frame. A holder
   * that received the request but whose count did not come back in time (e.g. Redis was cut meanwhile) leaves the
   * outcome unknown: 0 confirmed, `confirmed` false.
   */
  async #deliverRemote(instanceId: string, ids: string[], frame: string): Promise<RemoteDelivery> {
    if (this.hasDefect("drop-remote")) {
      this.metrics.routes.inc({ path: "remote" }, ids.length);
      return { delivered: ids.length, confirmed: true };
    }
    if (this.#pendingRemote.size >= MAX_PENDING_REMOTE) {
      throw new ProtocolError("REGISTRY_UNAVAILABLE", "too many remote deliveries in flight; retry later");
    }
    const requestId = `${this.instanceId}:${++this.#requestSeq}`;
    let timedOut = false;
    const reply = new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        this.#pendingRemote.delete(requestId);
        timedOut = true;
        resolve(0);
      }, this.options.remoteAckTimeoutMs);
      timer.unref();
      this.#pendingRemote.set(requestId, { resolve, timer });
    });
    const settle = (n: number) => {
      const pending = this.#pendingRemote.get(requestId);
      if (!pending) return;
      clearTimeout(pending.timer);
      this.#pendingRemote.delete(requestId);
      pending.resolve(n);
    };
    let receivers: number | undefined;
    try {
      receivers = await this.#bus.publish(instanceId, { t: "deliver", r: requestId, from: this.instanceId, ids, frame });
    } catch (error) {
      settle(0);
      throw toProtocolError(error);
    }
    // Nobody subscribed: the holder is dead and its records await reaping.
    if (receivers === 0) settle(0);
    const delivered = await reply;
    this.metrics.routes.inc({ path: "remote" }, delivered);
    return { delivered, confirmed: !timedOut };
  }

  #onBusMessage(message: BusMessage): void {
    switch (message.t) {
      case "deliver":
        this.#answerDeliver(message);
        return;
      case "delivered": {
        const pending = this.#pendingRemote.get(message.r);
        if (!pending) return;
        clearTimeout(pending.timer);
        this.#pendingRemote.delete(message.r);
        pending.resolve(message.n);
        return;
      }
      case "evict": {
        const connection = this.#connections.get(message.id);
        if (connection && message.by !== this.instanceId) this.#evict(connection);
        return;
      }
    }
  }

  #answerDeliver(request: DeliverRequest): void {
    let delivered = 0;
    for (const id of request.ids) {
      const connection = typeof id === "string" ? this.#connections.get(id) : undefined;
      if (connection && this.#send(connection, request.frame)) delivered++;
    }
    void this.#bus.publish(request.from, { t: "delivered", r: request.r, n: delivered }).catch(() => undefined);
  }

  // ---------------------------------------------------------------- heartbeat and reconciliation

  async #heartbeatTick(): Promise<void> {
    for (const connection of [...this.#connections.values()]) {
      if (!connection.alive) {
        this.metrics.halfOpen.inc();
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      try {
        connection.ws.ping();
      } catch {
        // Socket already closing; its close handler cleans up.
      }
    }
    if (this.hasDefect("no-heartbeat")) return;
    await this.#refreshRecords();
  }

  /** Refreshes every local record's TTL in batches and re-registers those reported missing. Resolves with how many. */
  async #refreshRecords(): Promise<number> {
    const now = Date.now();
    const live = [...this.#connections.values()];
    let reRegistered = 0;
    for (let offset = 0; offset < live.length; offset += 1_000) {
      const batch = live.slice(offset, offset + 1_000);
      const entries = batch.map((connection) => {
        const entry = { session_id: connection.record.session_id, websocket_id: connection.record.websocket_id } as {
          session_id: string;
          websocket_id: string;
          last_activity_at?: number;
        };
        if (connection.active) {
          connection.active = false;
          connection.record.last_activity_at = now;
          entry.last_activity_at = now;
        }
        return entry;
      });
      let missing: string[];
      try {
        const result = await this.#registry.heartbeat(entries, { ttlMs: this.options.connectionTtlMs });
        this.metrics.heartbeats.inc({}, result.refreshed);
        this.metrics.heartbeatBatches.inc({ result: "ok" });
        missing = result.missing;
      } catch (error) {
        this.metrics.heartbeatBatches.inc({ result: "error" });
        throw error;
      }
      for (const websocketId of missing) {
        const connection = this.#connections.get(websocketId);
        if (!connection || connection.ws.readyState !== connection.ws.OPEN) continue;
        try {
          await this.#registry.register({ ...connection.record, instance_id: this.instanceId, last_activity_at: now }, { ttlMs: this.options.connectionTtlMs });
          this.metrics.registrations.inc({ kind: "reconcile" });
          this.metrics.reconciliations.inc();
          reRegistered++;
        } catch (error) {
          if (toProtocolError(error).code === "FORBIDDEN") {
            // The session was claimed by another tenant while our record was gone; this socket cannot keep it.
            connection.ws.close(CLOSE_CODES.POLICY, "FORBIDDEN");
            continue;
          }
          throw error;
        }
      }
    }
    return reRegistered;
  }

  /**
   * Re-registers every live local connection whose record is missing (after an outage, a Redis restart or
   * being reaped). Runs on every Redis reconnect; resolves with how many records were written again.
   */
  reconcile(): Promise<number> {
    if (this.hasDefect("no-heartbeat")) return Promise.resolve(0);
    this.#reconciling ??= this.#refreshRecords().finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  // ---------------------------------------------------------------- HTTP

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    void handleHttpRequest(this, req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }));
      } else {
        res.destroy();
      }
    });
  }

  /** Counts an HTTP error answer in the metrics. @internal */
  countError(code: ProtocolErrorCode): void {
    this.#countError(code);
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * The SIGTERM path: stop accepting (readyz 503), send every client `{"type":"reconnect"}`, wait up to
   * `drainTimeoutMs` for them to resume elsewhere, close the rest with 1012, unregister what closed here (never a
   * record another instance took over), remove the liveness key and release everything. Idempotent.
   */
  drain(): Promise<void> {
    return (this.#stopping ??= this.#shutdown(true));
  }

  /** Closes at once with 1001, unregisters local records, removes the liveness key, releases everything. Idempotent. */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#shutdown(false));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** How long closing sockets get to finish the close handshake: part of the drain budget when draining. */
  #closeGraceMs(drain: boolean): number {
    return drain ? Math.min(CLOSE_GRACE_MS, Math.floor(this.options.drainTimeoutMs / 4)) : CLOSE_GRACE_MS;
  }

  async #shutdown(drain: boolean): Promise<void> {
    if (this.#state === "idle" || this.#state === "stopped") {
      this.#state = "stopped";
      return;
    }
    while (this.#state === "starting") await new Promise((resolve) => setTimeout(resolve, 10));
    this.#state = "draining";
    if (drain) {
      this.metrics.drains.inc();
      log("draining", { instance_id: this.instanceId, connections: this.#connections.size, timeout_ms: this.options.drainTimeoutMs });
      const spread = Math.min(MAX_RETRY_AFTER_MS, Math.floor(this.options.drainTimeoutMs / 4));
      for (const connection of this.#connections.values()) this.#send(connection, reconnectFrame(Math.floor(Math.random() * (spread + 1))));
      // The close handshake and the unregisters come out of the same budget, so that the whole drain ends
      // within DRAIN_TIMEOUT_MS (plus Redis round trips), as supervisors expect.
      const deadline = Date.now() + this.options.drainTimeoutMs - this.#closeGraceMs(true);
      while (this.#connections.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now()))));
      }
    }
    const closeCode = drain ? CLOSE_CODES.SERVICE_RESTART : CLOSE_CODES.GOING_AWAY;
    const remaining = [...this.#connections.values()];
    await Promise.all(
      remaining.map(
        (connection) =>
          new Promise<void>((resolve) => {
            if (connection.ws.readyState === connection.ws.CLOSED) return resolve();
            const timer = setTimeout(() => {
              connection.ws.terminate();
              resolve();
            }, this.#closeGraceMs(drain));
            connection.ws.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
            connection.ws.close(closeCode, drain ? "draining" : "going away");
          }),
      ),
    );
    await Promise.allSettled([...this.#pendingUnregisters]);
    this.#heartbeat?.stop();
    this.#reaper?.stop();
    await this.#bus.removeLiveness().catch(() => undefined);
    await this.#release();
    this.#state = "stopped";
    if (drain) log("drained", { instance_id: this.instanceId });
  }

  async #release(): Promise<void> {
    this.#heartbeat?.stop();
    this.#reaper?.stop();
    for (const pending of this.#pendingRemote.values()) {
      clearTimeout(pending.timer);
      pending.resolve(0);
    }
    this.#pendingRemote.clear();
    this.#wss?.close();
    if (this.#http) {
      const http = this.#http;
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    }
    const results = await Promise.allSettled([this.#bus?.close(), this.#registry?.close()]);
    void results;
  }
}

function matches(record: ConnectionRecord, to: RouteTarget): boolean {
  if ("websocket_id" in to) return record.websocket_id === to.websocket_id;
  return (to.agent_type === undefined || record.agent_type === to.agent_type) && (to.pillar === undefined || record.pillar === to.pillar);
}

/** Wraps every registry method so that its latency lands in the Redis latency histogram. */
function instrumentRegistry(registry: ConnectionRegistry, metrics: GatewayMetrics): ConnectionRegistry {
  // One wrapper per method, made on first use: the registry is called on every connect and close.
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(registry, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      let wrapper = wrappers.get(property);
      if (wrapper === undefined || (wrapper as { original?: unknown }).original !== value) {
        wrapper = property === "close" ? value.bind(target) : timed(target, value as (...a: unknown[]) => unknown, metrics.redisLatency.observer({ op: String(property) }));
        (wrapper as { original?: unknown }).original = value;
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}

function timed(target: object, method: (...a: unknown[]) => unknown, observe: (seconds: number) => void): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const started = performance.now();
    const result = method.apply(target, args);
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          observe((performance.now() - started) / 1000);
          return value;
        },
        (error: unknown) => {
          observe((performance.now() - started) / 1000);
          throw error;
        },
      );
    }
    observe((performance.now() - started) / 1000);
    return result;
  };
}
