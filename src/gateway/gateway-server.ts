import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { ConnectionRegistry } from "../registry/connection-registry.js";
import { TrafficCopError } from "../errors.js";
import type { ClusterBus } from "./cluster-bus.js";
import { ConnectionTable } from "./connection-table.js";
import { announceDrain, closeConnections } from "./drain.js";
import { createFailpoints, type Failpoints } from "./failpoints.js";
import { FrameHandler } from "./frame-handler.js";
import { resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from "./gateway-options.js";
import { logEvent as log, type GatewayBackend, type GatewayState, type RouteResult } from "./gateway-types.js";
import { Heartbeat } from "./heartbeat.js";
import { httpRequestListener, type HttpApiHost } from "./http-api.js";
import { RegistryHealth, instrumentRegistry } from "./instrumented-registry.js";
import { GatewayMetrics } from "./metrics.js";
import type { VerifyJwtOptions } from "./jwt.js";
import type { FrameId, RouteTarget } from "./protocol.js";
import { Reaper } from "./reaper.js";
import { HEARTBEAT_SLICES, RecordRefresher, refreshSliceOf } from "./record-refresher.js";
import { RegistryWriter } from "./registry-writer.js";
import { Router } from "./router.js";
import { UpgradeHandler, refuseUpgrade } from "./upgrade-handler.js";

export type { GatewayBackend, GatewayState, RouteResult } from "./gateway-types.js";

/** The units a started gateway is made of (built in `start()`, once the backend exists). */
interface Units {
  registry: ConnectionRegistry;
  bus: ClusterBus;
  router: Router;
  writer: RegistryWriter;
  refresher: RecordRefresher;
}

/**
 * The Traffic Cop gateway: WebSocket connections recorded in a shared registry, routing across instances over
 * per-instance pub/sub channels, heartbeats, reaping of dead instances, drain, HTTP API and metrics.
 *
 * This class is the composition root and owns the lifecycle; the work is done by its units: {@link ConnectionTable}
 * (local sockets), {@link UpgradeHandler} (handshake and registration), {@link FrameHandler} (client frames),
 * {@link Router} (local and remote delivery), {@link RegistryWriter} (group-committed writes),
 * {@link RecordRefresher} (heartbeat and reconciliation), {@link Reaper} (dead instances), the HTTP API and the
 * failpoints policy (failpoints.ts).
 *
 * `start()` listens; `drain()` is the SIGTERM path (reconnect notice, wait for clients to resume elsewhere, close
 * the rest with 1012); `stop()` closes at once with 1001. Both are idempotent and end in state `stopped`.
 */
export class GatewayServer implements AsyncDisposable {
  readonly options: ResolvedGatewayOptions;
  readonly metrics: GatewayMetrics;
  readonly #backendFactory: (options: ResolvedGatewayOptions) => Promise<GatewayBackend>;
  readonly #failpoints: Failpoints;
  readonly #tokenChecks: VerifyJwtOptions;
  readonly #connections: ConnectionTable;
  readonly #registryHealth = new RegistryHealth();
  #units?: Units;
  #backend?: GatewayBackend;
  #http?: Server;
  #wss?: WebSocketServer;
  #heartbeat?: Heartbeat;
  #reaper?: Reaper;
  #state: GatewayState = "idle";
  #port = 0;
  #starting?: Promise<unknown>;
  #stopping?: Promise<void>;

  /**
   * @param options gateway options (see {@link GatewayOptions}); validated here.
   * @param backendFactory builds the registry and bus; by default from `options.registry` and `options.redisUrl`.
   * @param failpoints the negative-control policy; by default built from `options.defects` (none: every failpoint off).
   */
  constructor(
    options: GatewayOptions | ResolvedGatewayOptions,
    backendFactory?: (options: ResolvedGatewayOptions) => Promise<GatewayBackend>,
    failpoints?: Failpoints,
  ) {
    this.options = "livenessTtlMs" in options ? (options as ResolvedGatewayOptions) : resolveGatewayOptions(options);
    this.#backendFactory =
      backendFactory ??
      (async (resolved) =>
        (await import("./backend.js")).createGatewayBackend(resolved, (connection, silentMs) => {
          this.metrics.silentLinks.inc({ connection });
          log("redis_link_silent", { instance_id: resolved.instanceId, connection, silent_ms: silentMs });
        }));
    this.#failpoints = failpoints ?? createFailpoints(this.options.defects);
    // How tokens are checked (failpoints `ignore-nbf`, `refuse-future-iat`, `accept-expired`, `accept-alg-none`): one
    // answer, resolved once, for the upgrade and the HTTP API.
    this.#tokenChecks = {
      ignoreNbf: this.#failpoints.enabled("ignore-nbf"),
      refuseFutureIat: this.#failpoints.enabled("refuse-future-iat"),
      ignoreExp: this.#failpoints.enabled("accept-expired"),
      acceptUnsecured: this.#failpoints.enabled("accept-alg-none"),
    };
    this.metrics = new GatewayMetrics(
      () => this.#connections.countByTenant(),
      () => this.#state !== "idle" && this.#units?.bus.healthy === true,
      () => this.#connections.maxBufferedAmount(),
    );
    // Failpoint `unbounded-send-buffer`: the table never sheds a slow consumer.
    this.#connections = new ConnectionTable({
      maxBufferedBytes: this.options.maxBufferedBytes,
      unbounded: this.#failpoints.enabled("unbounded-send-buffer"),
      // Failpoint `gauge-counts-opens`: the connections gauge counts every socket added, not those held.
      countAdded: this.#failpoints.enabled("gauge-counts-opens"),
      onShed: () => this.metrics.slowConsumers.inc(),
    });
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

  /**
   * Ready for traffic: accepting connections and Redis answers (the bus is connected and its liveness refresh
   * succeeded, and the last registry command did not fail for want of Redis). Failpoint `ready-lies`: only the
   * lifecycle state counts.
   */
  get ready(): boolean {
    if (this.#failpoints.enabled("ready-lies")) return this.#state === "accepting";
    return this.#state === "accepting" && this.#units?.bus.healthy === true && this.#registryHealth.ok;
  }

  /** Connects to the registry, subscribes, starts heartbeats and the reaper, and listens. */
  start(): Promise<this> {
    if (this.#state !== "idle") {
      return Promise.reject(new TrafficCopError("GATEWAY_ERR_INVALID_STATE", `gateway cannot start from state ${this.#state}: create a new GatewayServer`));
    }
    this.#state = "starting";
    const starting = this.#start();
    this.#starting = starting.catch(() => undefined);
    return starting;
  }

  async #start(): Promise<this> {
    const { options, metrics } = this;
    const failpoints = this.#failpoints;
    const connections = this.#connections;
    try {
      const backend = await this.#backendFactory(options);
      this.#backend = backend;
      const registry = instrumentRegistry(backend.registry, metrics, this.#registryHealth);
      const bus = backend.bus;
      const { instanceId, connectionTtlMs } = options;
      const router = new Router({ instanceId, registry, bus, connections, metrics, failpoints, remoteAckTimeoutMs: options.remoteAckTimeoutMs });
      const writer = new RegistryWriter({ instanceId, registry, connectionTtlMs, metrics, failpoints });
      const refresher = new RecordRefresher({
        instanceId,
        registry,
        connections,
        connectionTtlMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        slices: HEARTBEAT_SLICES,
        refreshSlice: refreshSliceOf(instanceId, HEARTBEAT_SLICES),
        metrics,
        failpoints,
      });
      const units: Units = { registry, bus, router, writer, refresher };
      this.#units = units;
      await bus.start({
        onMessage: (message) => router.onBusMessage(message),
        onDown: () => {
          log("redis_down", { instance_id: instanceId });
          if (failpoints.enabled("drop-sockets-on-redis-down")) for (const connection of [...connections.values()]) connection.ws.terminate();
        },
        onUp: () => {
          log("redis_up", { instance_id: instanceId });
          void this.reconcile().catch(() => undefined);
          writer.retryFailed();
          void this.#reaper?.tick().catch(() => undefined);
        },
      });
      // Before the first write, so that even the first records and liveness deadlines are on the shared clock.
      await backend.sync?.().catch(() => undefined);
      const wss = new WebSocketServer({
        noServer: true,
        // Frames up to twice the limit are read so that they can be answered with PAYLOAD_TOO_LARGE; bigger ones
        // are cut off by ws itself (close 1009).
        maxPayload: options.maxMessageBytes * 2,
        perMessageDeflate: false,
        clientTracking: false,
      });
      this.#wss = wss;
      const { maxMessageBytes, rateLimitPerSec, rateLimitBurst, authSecret } = options;
      const frames = new FrameHandler({ maxMessageBytes, rateLimitPerSec, rateLimitBurst, registry, router, metrics, failpoints });
      const upgrades = new UpgradeHandler({
        instanceId,
        authSecret,
        tokenChecks: this.#tokenChecks,
        rateLimitBurst,
        registry,
        bus,
        wss,
        connections,
        writer,
        frames,
        metrics,
        failpoints,
        accepting: () => this.#state === "accepting",
      });
      const http = createServer(httpRequestListener(this.#httpHost(units)));
      this.#http = http;
      http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrades.handle(req, socket, head));
      http.on("clientError", (_error, socket) => refuseUpgrade(socket, "INVALID_REQUEST", "malformed HTTP request"));
      http.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(options.port, options.host, () => {
          http.off("error", reject);
          resolve();
        });
      });
      const address = http.address();
      this.#port = typeof address === "object" && address ? address.port : options.port;
      // The refresher handles one slice of the connections per tick; failed removals are retried once a period.
      let ticks = 0;
      this.#heartbeat = new Heartbeat(options.heartbeatIntervalMs / HEARTBEAT_SLICES, () => {
        if (ticks++ % HEARTBEAT_SLICES === 0) writer.retryFailed();
        return refresher.tick();
      });
      this.#heartbeat.start();
      this.#reaper = new Reaper({ instanceId, bus, registry, livenessTtlMs: options.livenessTtlMs, intervalMs: options.livenessIntervalMs, metrics, failpoints, log });
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

  /** What the HTTP API may use of this gateway. */
  #httpHost(units: Units): HttpApiHost {
    const { router, registry, bus } = units;
    return {
      instanceId: this.options.instanceId,
      authSecret: this.options.authSecret,
      tokenChecks: this.#tokenChecks,
      failpoints: this.#failpoints,
      maxMessageBytes: this.options.maxMessageBytes,
      metrics: this.metrics,
      sessions: registry,
      readiness: () => ({ ready: this.ready, state: this.#state, redis: bus.healthy && this.#registryHealth.ok }),
      findConnection: (tenantId, websocketId) => router.findConnection(tenantId, websocketId),
      sessionConnections: (tenantId, sessionId) => router.lookupSessionConnections(tenantId, sessionId),
      route: (tenantId, sessionId, to, payload, id, from) => router.route(tenantId, sessionId, to, payload, id, from),
    };
  }

  /**
   * Delivers `payload` to the targets of `to` in `sessionId` (of `tenantId`), here and on other instances, and
   * resolves with how many sockets received it. `fromWebsocketId` never receives its own route. Rejects with
   * `NOT_FOUND` when the target connection, or every connection of the session, is missing or another tenant's.
   */
  route(tenantId: string, sessionId: string, to: RouteTarget, payload: unknown, id: FrameId, fromWebsocketId: string | null): Promise<RouteResult> {
    return this.#units ? this.#units.router.route(tenantId, sessionId, to, payload, id, fromWebsocketId) : this.#notStarted();
  }

  /**
   * Re-registers every live local connection whose record is missing (after an outage, a Redis restart or
   * being reaped). Runs on every Redis reconnect; resolves with how many records were written again.
   */
  reconcile(): Promise<number> {
    return this.#units ? this.#units.refresher.reconcile() : this.#notStarted();
  }

  #notStarted(): Promise<never> {
    return Promise.reject(new TrafficCopError("GATEWAY_ERR_INVALID_STATE", `gateway is ${this.#state}: call start() first`));
  }

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

  async #shutdown(drain: boolean): Promise<void> {
    if (this.#state === "idle" || this.#state === "stopped") {
      this.#state = "stopped";
      return;
    }
    // A stop during start() waits for it; a start that failed has already released everything.
    await this.#starting;
    if ((this.#state as GatewayState) === "stopped") return;
    this.#state = "draining";
    const { drainTimeoutMs, instanceId } = this.options;
    if (drain) {
      this.metrics.drains.inc();
      log("draining", { instance_id: instanceId, connections: this.#connections.size, timeout_ms: drainTimeoutMs });
      await announceDrain(this.#connections, drainTimeoutMs, this.#failpoints);
    }
    await closeConnections(this.#connections, drain, drainTimeoutMs);
    await this.#units!.writer.settled();
    this.#heartbeat?.stop();
    this.#reaper?.stop();
    await this.#units!.bus.removeLiveness().catch(() => undefined);
    await this.#release();
    this.#state = "stopped";
    if (drain) log("drained", { instance_id: instanceId });
  }

  async #release(): Promise<void> {
    this.#heartbeat?.stop();
    this.#reaper?.stop();
    this.#units?.router.close();
    this.#wss?.close();
    if (this.#http) {
      const http = this.#http;
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    }
    this.#backend?.release?.();
    await Promise.allSettled([this.#units?.bus.close(), this.#units?.registry.close()]);
  }
}
