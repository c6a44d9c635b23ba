/**
 * A fleet worker: the client machinery of the process that holds a share of the fleet's clients (worker-process.ts
 * runs it under the parent's IPC commands): the ramp, the message pump, pending routes and the events.
 */
import { mintClientToken } from "../common/jwt.js";
import type { ClientSocket } from "./client-handshake.js";
import type { FleetEvent } from "./fleet-events.js";
import { EVENT_FLUSH_COUNT, EVENT_FLUSH_INTERVAL_MS, STATS_INTERVAL_MS, type WorkerMessage, type WorkerStats } from "./fleet-ipc.js";
import type { ResolvedClientFleetOptions } from "./fleet-options.js";
import {
  backoffDelayMs,
  clientIdentity,
  clientsOfWorker,
  drainMoveDelayMs,
  nextTargetIndex,
  MessagePlanner,
  routeTargetOf,
} from "./fleet-plan.js";
import { ClientState, SimulatedClient, type ClientContext } from "./simulated-client.js";
import { WorkerCounters } from "./worker-counters.js";

/** Period of the ramp and message pumps, ms. */
const PUMP_INTERVAL_MS = 10;
/** How long stop waits for close handshakes before terminating the sockets left, ms. */
const STOP_CLOSE_TIMEOUT_MS = 5_000;
/** At most one second of messages is sent in one burst after a stall. */
const MAX_BURST_S = 1;
/** Ids of the fleet's own routes: `m<worker>-<k>` (see {@link FleetWorker} route sending). */
const FLEET_MESSAGE_ID = /^m\d+-\d+$/;

interface PendingRoute {
  sentAt: number;
  client: SimulatedClient;
  ws: ClientSocket;
  id: string;
}

/** Epoch ms with sub-millisecond precision, comparable across processes on one machine. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The client machinery of one worker process (also usable in-process by tests of the worker itself). */
export class FleetWorker implements ClientContext {
  readonly worker: number;
  readonly options: ResolvedClientFleetOptions;
  targets: readonly string[];
  stopping = false;
  readonly #send: (message: WorkerMessage) => void;
  /** Whether events are recorded and sent to the parent. */
  readonly events: boolean;
  readonly #clients: SimulatedClient[];
  readonly #byIndex = new Map<number, SimulatedClient>();
  readonly #tokens = new Map<string, string>();
  readonly #pending = new Map<string, PendingRoute>();
  #buffer: FleetEvent[] = [];
  readonly #counts = new WorkerCounters();
  #inFlight = 0;
  #nextToStart = 0;
  #rampStart = 0;
  #rampLimit: number;
  /** Clients ramped so far (the rate applies to them). */
  #ramped = 0;
  readonly #rampRate: number;
  #rampTimer: NodeJS.Timeout | undefined;
  /** A refill of the connects in flight is scheduled for the end of this turn of the event loop. */
  #pumpScheduled = false;
  readonly #scheduledPump = (): void => {
    this.#pumpScheduled = false;
    this.#pumpRamp();
  };
  readonly #planner: MessagePlanner;
  #messageRate = 0;
  #rateSeq = 0;
  #messageStart = 0;
  #messagesDue = 0;
  #messageTimer: NodeJS.Timeout | undefined;
  readonly #statsTimer: NodeJS.Timeout;
  readonly #flushTimer: NodeJS.Timeout;
  #remaining: Set<SimulatedClient> | undefined;
  #allStopped: (() => void) | undefined;
  #stopping: Promise<WorkerStats> | undefined;

  constructor(worker: number, options: ResolvedClientFleetOptions, events: boolean, send: (message: WorkerMessage) => void) {
    this.worker = worker;
    this.options = options;
    this.targets = options.targets;
    this.events = events;
    this.#send = send;
    const indices = clientsOfWorker(options, worker);
    this.#clients = indices.map((index) => new SimulatedClient(clientIdentity(options, index), this));
    for (const client of this.#clients) this.#byIndex.set(client.id.index, client);
    this.#rampRate = (options.rampPerSecond * indices.length) / options.clients;
    this.#rampLimit = options.rampLimit;
    this.#planner = new MessagePlanner(options, worker, indices);
    this.#statsTimer = setInterval(() => this.#report("stats"), STATS_INTERVAL_MS);
    this.#flushTimer = setInterval(() => this.#flush(), EVENT_FLUSH_INTERVAL_MS);
  }

  /** Number of clients this worker holds. */
  get size(): number {
    return this.#clients.length;
  }

  /** Starts the ramp and, if configured, the messages. */
  start(): void {
    if (this.stopping || this.#rampTimer !== undefined) return;
    this.#rampStart = performance.now();
    this.#rampTimer = setInterval(() => this.#pumpRamp(), PUMP_INTERVAL_MS);
    this.#pumpRamp();
    this.setMessageRate(this.options.messageRatePerSecond);
  }

  /**
   * Applies the parent's `set_rate` number `seq` and reports at once, so that the parent knows when no route of the
   * old rate can still be sent.
   */
  applyMessageRate(fleetPerSecond: number, seq: number): void {
    this.setMessageRate(fleetPerSecond);
    this.#rateSeq = seq;
    this.#report("stats");
  }

  /** Sets the fleet-wide message rate; this worker sends its share (by client count). */
  setMessageRate(fleetPerSecond: number): void {
    if (this.stopping) return;
    this.#messageRate = (fleetPerSecond * this.#clients.length) / this.options.clients;
    this.#messageStart = performance.now();
    this.#messagesDue = 0;
    if (this.#messageTimer !== undefined) clearInterval(this.#messageTimer);
    this.#messageTimer = undefined;
    if (this.#messageRate > 0) {
      const intervalMs = Math.max(PUMP_INTERVAL_MS, Math.min(100, 1_000 / this.#messageRate));
      this.#messageTimer = setInterval(() => this.#pumpMessages(), intervalMs);
    }
  }

  /** Ramps the clients with a global index below `count`. */
  setRampLimit(count: number): void {
    this.#rampLimit = count;
    if (this.stopping || this.#rampStart === 0) return;
    if (this.#rampTimer === undefined && this.#nextToStart < this.#clients.length) {
      // The rate restarts from here, so the new step ramps at the configured rate too.
      this.#rampStart = performance.now();
      this.#ramped = 0;
      this.#rampTimer = setInterval(() => this.#pumpRamp(), PUMP_INTERVAL_MS);
    }
    this.#pumpRamp();
  }

  setTargets(targets: readonly string[]): void {
    this.targets = [...targets];
  }

  // ---- ClientContext -------------------------------------------------------------------------------------------

  tokenOf(tenantId: string): string {
    let token = this.#tokens.get(tenantId);
    if (token === undefined) {
      token = mintClientToken(this.options.authSecret, { tenantId, ttlS: this.options.tokenTtlS });
      this.#tokens.set(tenantId, token);
    }
    return token;
  }

  backoffDelayMs(index: number, n: number): number {
    return backoffDelayMs(this.options, index, n);
  }

  drainMoveDelayMs(index: number, n: number, retryAfterMs: number): number {
    return drainMoveDelayMs(this.options, index, n, retryAfterMs);
  }

  nextTargetIndex(index: number, n: number, current: number): number {
    return nextTargetIndex(this.options, index, n, current, this.targets.length);
  }

  emit(event: FleetEvent): void {
    if (!this.events) return;
    this.#buffer.push(event);
    if (this.#buffer.length >= EVENT_FLUSH_COUNT) this.#flush();
  }

  onConnectStart(): void {
    this.#inFlight++;
  }

  onConnectSettled(): void {
    this.#inFlight--;
    if (this.#rampRate === 0) this.#schedulePump();
  }

  /**
   * Refills the connects in flight once per turn of the event loop (in its check phase), not once per connect that
   * settles: the welcomes one poll of the loop delivers start their successors together. Started one by one between
   * the reads of that poll, they cost the worker more CPU per connect (`npm run bench -- fleet`, one worker:
   * 0.138-0.191 ms against 0.127-0.142) and left it a slower rate (harness/fleet/README.md).
   */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(this.#scheduledPump);
  }

  onConnectFailed(): void {
    this.#counts.connectErrors++;
    this.onConnectSettled();
  }

  onWelcome(client: SimulatedClient, _previous: ClientState, latencyMs: number): void {
    this.#inFlight--;
    this.#counts.welcomed(client.instanceId ?? "unknown", client.target ?? "unknown", latencyMs);
    if (this.#rampRate === 0) this.#schedulePump();
  }

  onLeaveOpen(client: SimulatedClient): void {
    this.#counts.leftOpen(client.instanceId ?? "unknown", client.target ?? "unknown");
  }

  onAck(client: SimulatedClient, id: string, delivered: number, partial: boolean): void {
    const route = this.#pending.get(id);
    this.#counts.acked++;
    this.#counts.delivered += delivered;
    const event: FleetEvent = { t: Date.now(), type: "message_acked", client: client.id.client, worker: this.worker, message_id: id, delivered };
    if (partial) event.partial = true;
    if (route !== undefined) {
      this.#settle(route);
      const latencyMs = nowMs() - route.sentAt;
      this.#counts.recordAck(latencyMs);
      event.latency_ms = Math.round(latencyMs * 1000) / 1000;
    }
    this.emit(event);
  }

  onError(client: SimulatedClient, id: string | undefined, code: string, message: string): void {
    this.#counts.errors++;
    const event: FleetEvent = { t: Date.now(), type: "message_error", client: client.id.client, worker: this.worker, code, message: message.slice(0, 200) };
    if (id !== undefined) {
      event.message_id = id;
      const route = this.#pending.get(id);
      if (route !== undefined) this.#settle(route);
    }
    if (client.websocketId !== undefined) event.websocket_id = client.websocketId;
    this.emit(event);
  }

  onReceived(client: SimulatedClient, id: string, from: string | undefined, sentAt: number | undefined): void {
    // Only the fleet's own routes (ids `m<worker>-<k>`) count and time as deliveries; probes and HTTP floods route
    // to fleet clients too (their events are still recorded).
    const own = FLEET_MESSAGE_ID.test(id);
    if (own) this.#counts.received++;
    else this.#counts.receivedOther++;
    const event: FleetEvent = { t: Date.now(), type: "message_received", client: client.id.client, worker: this.worker, message_id: id, session_id: client.id.session_id };
    if (from !== undefined) event.from = from;
    if (client.websocketId !== undefined) event.websocket_id = client.websocketId;
    if (sentAt !== undefined && own) {
      const latencyMs = Math.max(0, nowMs() - sentAt);
      this.#counts.recordDelivery(latencyMs);
      event.latency_ms = Math.round(latencyMs * 1000) / 1000;
    }
    this.emit(event);
  }

  onSocketClosed(client: SimulatedClient, ws: ClientSocket): void {
    for (const route of this.#pending.values()) {
      if (route.client === client && route.ws === ws) this.#abandon(route, "FLEET_SOCKET_CLOSED", "the sender's socket closed before the ack");
    }
  }

  onStopped(client: SimulatedClient): void {
    const remaining = this.#remaining;
    if (remaining === undefined) return;
    remaining.delete(client);
    if (remaining.size === 0) this.#allStopped?.();
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------

  /** Closes every socket with 1000 (terminating those that do not finish in time) and returns the final counters. */
  /** Stops every client (closes with 1000; `abrupt`: destroys the sockets without a close frame) and reports. */
  stop(abrupt = false): Promise<WorkerStats> {
    return (this.#stopping ??= this.#stop(abrupt));
  }

  async #stop(abrupt: boolean): Promise<WorkerStats> {
    this.stopping = true;
    if (this.#rampTimer !== undefined) clearInterval(this.#rampTimer);
    if (this.#messageTimer !== undefined) clearInterval(this.#messageTimer);
    const remaining = new Set(this.#clients);
    this.#remaining = remaining;
    const allStopped = new Promise<void>((resolve) => (this.#allStopped = resolve));
    for (const client of this.#clients) client.stop(abrupt);
    if (remaining.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allStopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_CLOSE_TIMEOUT_MS)))]);
      clearTimeout(timer);
      for (const client of remaining) {
        client.ws?.terminate();
        client.old?.terminate();
      }
    }
    for (const route of [...this.#pending.values()]) this.#abandon(route, "FLEET_STOPPED", "the fleet stopped before the ack");
    clearInterval(this.#statsTimer);
    clearInterval(this.#flushTimer);
    this.#flush();
    return this.#stats(true);
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  #pumpRamp(): void {
    if (this.stopping || this.#rampTimer === undefined) return;
    const clients = this.#clients;
    const max = this.options.maxConnectsInFlight;
    let allowed = this.#rampRate > 0 ? Math.floor(((performance.now() - this.#rampStart) / 1_000) * this.#rampRate) + 1 - this.#ramped : Number.POSITIVE_INFINITY;
    while (this.#nextToStart < clients.length && this.#inFlight < max && allowed > 0) {
      const client = clients[this.#nextToStart] as SimulatedClient;
      if (client.id.index >= this.#rampLimit) break;
      this.#nextToStart++;
      this.#ramped++;
      allowed--;
      if (client.state === ClientState.Idle) client.connect();
    }
    const next = clients[this.#nextToStart];
    if (next === undefined || next.id.index >= this.#rampLimit) {
      clearInterval(this.#rampTimer);
      this.#rampTimer = undefined;
    }
  }

  #pumpMessages(): void {
    if (this.stopping || this.#messageRate <= 0) return;
    const elapsedS = (performance.now() - this.#messageStart) / 1_000;
    let due = Math.floor(elapsedS * this.#messageRate) - this.#messagesDue;
    if (due > this.#messageRate * MAX_BURST_S) {
      // After a stall (GC, a busy core) drop the backlog rather than bursting it.
      this.#messagesDue += due - Math.ceil(this.#messageRate * MAX_BURST_S);
      due = Math.ceil(this.#messageRate * MAX_BURST_S);
    }
    for (; due > 0; due--) {
      this.#messagesDue++;
      const plan = this.#planner.next();
      const sender = this.#byIndex.get(plan.sender) as SimulatedClient;
      if (sender.state !== ClientState.Open || sender.ws === undefined) continue;
      const peer = this.#byIndex.get(plan.peer) as SimulatedClient;
      const to = routeTargetOf(plan.kind, peer.id, peer.websocketId);
      const id = `m${this.worker}-${plan.k}`;
      const sentAt = nowMs();
      const ws = sender.ws;
      if (!sender.sendRoute(id, to, sentAt, plan.k)) continue;
      this.#pending.set(id, { sentAt, client: sender, ws, id });
      sender.pending++;
      this.#counts.sent++;
      // Event times are wall-clock like every other event; timeOrigin + performance.now() drifts from Date.now() by
      // milliseconds, which put a route after its own ack. sentAt only measures latency.
      const event: FleetEvent = { t: Date.now(), type: "message_sent", client: sender.id.client, worker: this.worker, session_id: sender.id.session_id, message_id: id, to };
      if (sender.websocketId !== undefined) event.websocket_id = sender.websocketId;
      if (sender.instanceId !== undefined) event.instance_id = sender.instanceId;
      this.emit(event);
    }
  }

  #settle(route: PendingRoute): void {
    this.#pending.delete(route.id);
    route.client.pending--;
  }

  #abandon(route: PendingRoute, code: string, message: string): void {
    this.#settle(route);
    this.#counts.errors++;
    this.emit({ t: Date.now(), type: "message_error", client: route.client.id.client, worker: this.worker, message_id: route.id, code, message });
  }

  #flush(): void {
    if (this.#buffer.length === 0) return;
    const events = this.#buffer;
    this.#buffer = [];
    this.#send({ type: "events", events });
  }

  #stats(withHistograms: boolean): WorkerStats {
    let reconnecting = 0;
    let pending = 0;
    for (const client of this.#clients) {
      if (client.state === ClientState.Open || client.state === ClientState.Stopped) continue;
      if (client.everWelcomed) reconnecting++;
      else pending++;
    }
    return this.#counts.report({ reconnecting, pending, rateSeq: this.#rateSeq }, withHistograms);
  }

  #report(type: "stats"): void {
    this.#flush();
    this.#send({ type, stats: this.#stats(false) });
  }
}

