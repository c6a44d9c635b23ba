/**
 * One simulated client inside a fleet worker. State is kept lean (a few fields, no closures per socket, no timer
 * while idle) because a worker holds thousands of them; the worker's {@link ClientContext} holds everything shared.
 */
import WebSocket from "ws";
import { HANDSHAKE_TIMEOUT_MS, kClient, openHandshake, planOf, type ClientSocket, type TaggedSocket } from "./client-handshake.js";
import { FleetSocket } from "./fleet-socket.js";
import type { FleetEvent, RouteTarget } from "./fleet-events.js";
import type { ClientIdentity } from "./fleet-plan.js";

/** Lifecycle of a simulated client. */
export enum ClientState {
  Idle = 0,
  Connecting = 1,
  Open = 2,
  Waiting = 3,
  Stopped = 4,
}

/** What every client of a worker shares: configuration, counters, histograms and the event sink. */
export interface ClientContext {
  readonly worker: number;
  targets: readonly string[];
  readonly stopping: boolean;
  /** Whether events are recorded: when false, clients build no event objects at all. */
  readonly events: boolean;
  tokenOf(tenantId: string): string;
  backoffDelayMs(index: number, n: number): number;
  drainMoveDelayMs(index: number, n: number, retryAfterMs: number): number;
  /** Target index after the `n`-th move of client `index` away from `current` (another target when there is one). */
  nextTargetIndex(index: number, n: number, current: number): number;
  emit(event: FleetEvent): void;
  onWelcome(client: SimulatedClient, previous: ClientState, latencyMs: number): void;
  onLeaveOpen(client: SimulatedClient): void;
  onConnectStart(client: SimulatedClient): void;
  onConnectSettled(client: SimulatedClient): void;
  onConnectFailed(client: SimulatedClient): void;
  /** A socket of the client closed: routes still pending on it are lost. */
  onSocketClosed(client: SimulatedClient, ws: ClientSocket): void;
  /** `partial`: the gateway marked `delivered` as a lower bound. */
  onAck(client: SimulatedClient, id: string, delivered: number, partial: boolean): void;
  onError(client: SimulatedClient, id: string | undefined, code: string, message: string): void;
  onReceived(client: SimulatedClient, id: string, from: string | undefined, sentAt: number | undefined): void;
  /** Called when the last socket of a stopping client is gone. */
  onStopped(client: SimulatedClient): void;
}

const UNEXPECTED_RESPONSE = /Unexpected server response: (\d{3})/;
/** Close codes after which the client moves to another target at once: the instance is going away. */
const MOVE_CODES = new Set([1001, 1012, 1013]);
/** Close code of a socket whose websocket_id was resumed on another socket (docs/protocol.md). */
const RESUMED_ELSEWHERE = 4000;

/** A simulated client. Created idle; `connect()` starts it; `stop()` closes its sockets with 1000. */
export class SimulatedClient {
  readonly id: ClientIdentity;
  readonly #ctx: ClientContext;
  state: ClientState = ClientState.Idle;
  ws: TaggedSocket | undefined;
  /** The socket being replaced after a drain notice (open until the new one is welcomed). */
  old: TaggedSocket | undefined;
  websocketId: string | undefined;
  instanceId: string | undefined;
  /** Index into the context's targets. */
  targetIndex: number;
  /** Target URL of the current socket (kept so counters stay right when targets change). */
  target: string | undefined;
  attempts = 0;
  /** Failed attempts since the last welcome (drives the backoff). */
  failures = 0;
  notices = 0;
  /** Moves to another target so far (each picks the next one, seeded). */
  moves = 0;
  /** instance_id of the socket being replaced (the new socket's welcome overwrites `instanceId`). */
  instanceIdOfOld: string | undefined;
  everWelcomed = false;
  /** Routes sent by this client still waiting for an ack. */
  pending = 0;
  #timer: NodeJS.Timeout | undefined;
  #attemptStart = 0;
  #delayMs = 0;

  constructor(identity: ClientIdentity, ctx: ClientContext) {
    this.id = identity;
    this.#ctx = ctx;
    this.targetIndex = identity.initialTarget;
  }

  /** Starts the first connect (or a reconnect) now. */
  connect(): void {
    if (this.state === ClientState.Stopped) return;
    this.#timer = undefined;
    const ctx = this.#ctx;
    const targets = ctx.targets;
    this.targetIndex %= targets.length;
    const target = targets[this.targetIndex] as string;
    const plan = planOf(target);
    const id = this.id;
    let query = `session_id=${encodeURIComponent(id.session_id)}&agent_type=${encodeURIComponent(id.agent_type)}&pillar=${encodeURIComponent(id.pillar)}`;
    if (this.websocketId !== undefined) query += `&websocket_id=${encodeURIComponent(this.websocketId)}`;
    if (ctx.events) {
      const event: FleetEvent = { t: Date.now(), type: "connect_attempt", client: id.client, worker: ctx.worker, session_id: id.session_id, tenant_id: id.tenant_id, target, attempt: this.attempts };
      if (this.websocketId !== undefined) event.websocket_id = this.websocketId;
      if (this.attempts > 0) event.delay_ms = this.#delayMs;
      ctx.emit(event);
    }
    this.attempts++;
    this.state = ClientState.Connecting;
    ctx.onConnectStart(this);
    this.target = target;
    const startedAt = performance.now();
    this.#attemptStart = startedAt;
    const token = ctx.tokenOf(id.tenant_id);
    let ws: TaggedSocket;
    if (plan.raw) {
      ws = new FleetSocket() as TaggedSocket;
      ws.handshake = openHandshake(this, ws, plan, `GET /ws?${query}${plan.requestMiddle}${token}\r\n\r\n`, startedAt);
    } else {
      const url = plan.urlPrefix + query;
      const options: WebSocket.ClientOptions = {
        perMessageDeflate: false,
        headers: { authorization: `Bearer ${token}` },
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        followRedirects: false,
      };
      // Binding a source address costs a port search per connect: only when asked for.
      if (id.sourceAddress !== undefined) options.localAddress = id.sourceAddress;
      ws = new WebSocket(url, options) as TaggedSocket;
    }
    ws[kClient] = this;
    ws.on("message", onSocketMessage);
    ws.on("error", onSocketError);
    ws.on("close", onSocketClose);
    this.ws = ws;
  }

  /** Sends a route frame; false when the socket is not open. */
  sendRoute(messageId: string, to: RouteTarget, sentAt: number, k: number): boolean {
    const ws = this.ws;
    if (this.state !== ClientState.Open || ws === undefined || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify({ type: "route", id: messageId, session_id: this.id.session_id, to, payload: { k, t: sentAt } }));
    return true;
  }

  /**
   * Closes every socket of the client with 1000 (`abrupt`: destroys them without a close frame, as `terminate()`
   * does) and cancels a pending reconnect.
   */
  stop(abrupt = false): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const previous = this.state;
    this.state = ClientState.Stopped;
    if (previous === ClientState.Open) this.#ctx.onLeaveOpen(this);
    if (previous === ClientState.Connecting) this.#ctx.onConnectSettled(this);
    closeQuietly(this.ws, abrupt);
    closeQuietly(this.old, abrupt);
    if (this.ws === undefined && this.old === undefined) this.#ctx.onStopped(this);
  }

  /** @internal */
  handleFrame(ws: TaggedSocket, data: WebSocket.RawData): void {
    let frame: { type?: unknown; [key: string]: unknown };
    try {
      frame = JSON.parse(data.toString()) as typeof frame;
    } catch {
      this.#ctx.onError(this, undefined, "FLEET_INVALID_FRAME", "server sent a frame that is not JSON");
      return;
    }
    const ctx = this.#ctx;
    switch (frame.type) {
      case "welcome":
        if (ws !== this.ws || this.state !== ClientState.Connecting) return;
        this.#welcome(frame);
        return;
      case "message":
        ctx.onReceived(this, String(frame.id), typeof frame.from === "string" ? frame.from : undefined, sentAtOf(frame.payload));
        return;
      case "ack":
        ctx.onAck(this, String(frame.id), typeof frame.delivered === "number" ? frame.delivered : 0, frame.partial === true);
        return;
      case "error":
        ctx.onError(this, typeof frame.id === "string" ? frame.id : undefined, String(frame.code), String(frame.message ?? ""));
        return;
      case "reconnect":
        this.#notice(ws, frame);
        return;
      default:
        // pong and anything newer than protocol v1: nothing to record.
        return;
    }
  }

  #welcome(frame: Record<string, unknown>): void {
    const ctx = this.#ctx;
    const latencyMs = performance.now() - this.#attemptStart;
    const previous = this.state;
    this.state = ClientState.Open;
    (this.ws as TaggedSocket).welcomed = true;
    this.websocketId = typeof frame.websocket_id === "string" ? frame.websocket_id : this.websocketId;
    this.instanceId = typeof frame.instance_id === "string" ? frame.instance_id : undefined;
    this.failures = 0;
    this.everWelcomed = true;
    if (ctx.events) this.#emitWelcome(frame, latencyMs);
    ctx.onWelcome(this, previous, latencyMs);
    const old = this.old;
    if (old !== undefined && old.readyState === WebSocket.OPEN) {
      old.expectedClose = true;
      old.close(1000, "moved");
    }
  }

  #emitWelcome(frame: Record<string, unknown>, latencyMs: number): void {
    const ctx = this.#ctx;
    const event: FleetEvent = {
      t: Date.now(),
      type: "welcome",
      client: this.id.client,
      worker: ctx.worker,
      session_id: this.id.session_id,
      tenant_id: this.id.tenant_id,
      target: this.target as string,
      resumed: frame.resumed === true,
      latency_ms: round3(latencyMs),
      agent_type: this.id.agent_type,
      pillar: this.id.pillar,
    };
    if (this.websocketId !== undefined) event.websocket_id = this.websocketId;
    if (this.instanceId !== undefined) event.instance_id = this.instanceId;
    ctx.emit(event);
  }

  #notice(ws: TaggedSocket, frame: Record<string, unknown>): void {
    const ctx = this.#ctx;
    const retryAfterMs = typeof frame.retry_after_ms === "number" && frame.retry_after_ms >= 0 ? frame.retry_after_ms : 0;
    const event: FleetEvent = {
      t: Date.now(),
      type: "reconnect_notice",
      client: this.id.client,
      worker: ctx.worker,
      session_id: this.id.session_id,
      reason: String(frame.reason ?? ""),
      retry_after_ms: retryAfterMs,
    };
    if (this.websocketId !== undefined) event.websocket_id = this.websocketId;
    if (this.instanceId !== undefined) event.instance_id = this.instanceId;
    ctx.emit(event);
    if (ws !== this.ws || this.state !== ClientState.Open || ctx.stopping) return;
    // Make before break: the old socket stays open (and keeps receiving) until the new one is welcomed.
    ctx.onLeaveOpen(this);
    this.old = ws;
    this.instanceIdOfOld = this.instanceId;
    this.ws = undefined;
    this.#moveTarget();
    this.notices++;
    this.#schedule(ctx.drainMoveDelayMs(this.id.index, this.notices, retryAfterMs));
  }

  /** @internal */
  handleError(ws: TaggedSocket, error: Error & { code?: string }): void {
    const status = UNEXPECTED_RESPONSE.exec(error.message);
    if (status) ws.status = Number(status[1]);
    ws.failure = error.code ?? (status ? "HTTP_STATUS" : error.message.slice(0, 120));
  }

  /** @internal */
  handleClose(ws: TaggedSocket, code: number, reason: Buffer): void {
    const ctx = this.#ctx;
    ws.removeAllListeners();
    ws.on("error", noop);
    ws[kClient] = undefined;
    if (this.pending > 0) ctx.onSocketClosed(this, ws);
    if (ws === this.old) {
      this.old = undefined;
      // The new socket's resume makes the old instance evict the old one (4000 RESUMED_ELSEWHERE): part of the move.
      if (code === RESUMED_ELSEWHERE) ws.expectedClose = true;
      this.#emitDisconnect(ws, code, reason, this.instanceIdOfOld);
      if (this.state === ClientState.Stopped && this.ws === undefined) ctx.onStopped(this);
      return;
    }
    if (ws !== this.ws) return;
    this.ws = undefined;
    const state = this.state;
    if (state === ClientState.Stopped) {
      if (ws.welcomed === true) this.#emitDisconnect(ws, code, reason, this.instanceId);
      if (this.old === undefined) ctx.onStopped(this);
      return;
    }
    if (state === ClientState.Connecting) {
      ctx.onConnectFailed(this);
      const event: FleetEvent = {
        t: Date.now(),
        type: "connect_error",
        client: this.id.client,
        worker: ctx.worker,
        session_id: this.id.session_id,
        target: this.target as string,
        reason: ws.failure ?? "CLOSED_BEFORE_WELCOME",
      };
      if (ws.status !== undefined) event.status = ws.status;
      if (ws.statusText !== undefined) event.status_text = ws.statusText;
      if (code !== 1006 || ws.failure === undefined) event.close_code = code;
      if (this.websocketId !== undefined) event.websocket_id = this.websocketId;
      ctx.emit(event);
      // A failed attempt moves on to the next target.
      this.#moveTarget();
    } else {
      ctx.onLeaveOpen(this);
      this.#emitDisconnect(ws, code, reason, this.instanceId);
      if (MOVE_CODES.has(code)) this.#moveTarget();
    }
    this.failures++;
    this.#schedule(ctx.backoffDelayMs(this.id.index, this.failures));
  }

  #moveTarget(): void {
    this.targetIndex = this.#ctx.nextTargetIndex(this.id.index, ++this.moves, this.targetIndex % this.#ctx.targets.length);
  }

  #emitDisconnect(ws: TaggedSocket, code: number, reason: Buffer, instanceId: string | undefined): void {
    const event: FleetEvent = {
      t: Date.now(),
      type: "disconnect",
      client: this.id.client,
      worker: this.#ctx.worker,
      session_id: this.id.session_id,
      close_code: code,
      reason: reason.toString().slice(0, 200),
      expected: ws.expectedClose === true,
    };
    if (this.websocketId !== undefined) event.websocket_id = this.websocketId;
    if (instanceId !== undefined) event.instance_id = instanceId;
    this.#ctx.emit(event);
  }

  #schedule(delayMs: number): void {
    this.state = ClientState.Waiting;
    this.#delayMs = delayMs;
    this.#timer = setTimeout(connectLater, delayMs, this);
  }
}

function connectLater(client: SimulatedClient): void {
  client.connect();
}

function onSocketMessage(this: TaggedSocket, data: WebSocket.RawData): void {
  this[kClient]?.handleFrame(this, data);
}

function onSocketError(this: TaggedSocket, error: Error): void {
  this[kClient]?.handleError(this, error);
}

function onSocketClose(this: TaggedSocket, code: number, reason: Buffer): void {
  this[kClient]?.handleClose(this, code, reason);
}

function noop(): void {}

function closeQuietly(ws: TaggedSocket | undefined, abrupt = false): void {
  if (ws === undefined) return;
  ws.expectedClose = true;
  if (ws.handshake !== undefined) ws.handshake.destroy();
  else if (ws.readyState === WebSocket.OPEN && abrupt) ws.terminate();
  else if (ws.readyState === WebSocket.OPEN) ws.close(1000, "fleet stopped");
  else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
}

function sentAtOf(payload: unknown): number | undefined {
  if (typeof payload === "object" && payload !== null && typeof (payload as { t?: unknown }).t === "number") return (payload as { t: number }).t;
  return undefined;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
