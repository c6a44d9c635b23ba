import { randomUUID } from "node:crypto";
import type { ConnectionRecord, ConnectionRegistry } from "../registry/connection-registry.js";
import type { BusMessage, ClusterBus, DeliverRequest } from "./cluster-bus.js";
import type { ConnectionTable } from "./connection-table.js";
import type { Failpoints } from "./failpoints.js";
import { fnv1a } from "./fnv1a.js";
import type { RouteResult } from "./gateway-types.js";
import type { GatewayMetrics } from "./metrics.js";
import { ProtocolError, messageFrame, toProtocolError, type FrameId, type RouteTarget } from "./protocol.js";

/** Most remote deliveries awaiting confirmation at once; more fail fast with REGISTRY_UNAVAILABLE. */
export const MAX_PENDING_REMOTE = 10_000;
/**
 * How long a deliver request's sender and id are remembered, in ms, so that a second copy of the request is dropped:
 * ioredis sends a command again when its connection closed before the answer came (Redis Cluster: after
 * `retryDelayOnFailover`, for up to its redirections), and a PUBLISH that Redis had already run then reaches the
 * holder twice. Copies come within a few seconds of the first; 30 s leaves a margin.
 */
export const DELIVER_DEDUPE_MS = 30_000;
/** Most deliver requests remembered at once (about 100 bytes each); beyond it the oldest are forgotten first. */
export const MAX_REMEMBERED_DELIVERS = 100_000;
/** Failpoint `no-fail-fast`: pause between retries of a registry read, in ms. */
const NO_FAIL_FAST_RETRY_MS = 100;
/** Failpoint `no-fail-fast`: longest a registry read is retried, in ms (beyond any partition the scenarios inject). */
const NO_FAIL_FAST_MAX_WAIT_MS = 30_000;

/** What a {@link Router} needs. */
export interface RouterOptions {
  instanceId: string;
  registry: ConnectionRegistry;
  bus: ClusterBus;
  connections: ConnectionTable;
  metrics: GatewayMetrics;
  failpoints: Failpoints;
  /** How long a remote delivery waits for the holder's count, in ms. */
  remoteAckTimeoutMs: number;
}

/** What one holding instance confirmed of a remote delivery. */
interface RemoteDelivery {
  delivered: number;
  /** False when the holder's answer did not come back in time: it may have delivered more than `delivered`. */
  confirmed: boolean;
}

/**
 * Routing of messages (WebSocket `route` frames and HTTP posts) and the tenant-scoped lookups behind them: local
 * targets get the frame directly; remote ones through their holder's channel, whose `delivered` answer carries the
 * count back (bounded by `remoteAckTimeoutMs`). Also answers other instances' deliver requests and evictions.
 */
export class Router {
  readonly #options: RouterOptions;
  readonly #pendingRemote = new Map<string, { resolve: (n: number) => void; timer: NodeJS.Timeout }>();
  #requestSeq = 0;
  /** Distinguishes this process's request ids from those of an earlier run of the same instance id. */
  readonly #incarnation = randomUUID().slice(0, 8);
  /** Deliver requests handled, by sender and request id, with when they came (oldest first). */
  readonly #handledDelivers = new Map<string, number>();

  constructor(options: RouterOptions) {
    this.#options = options;
  }

  /** Remote deliveries awaiting their holder's count. */
  get pendingRemote(): number {
    return this.#pendingRemote.size;
  }

  /**
   * The tenant whose data a lookup reads: the caller's. With `dataTenant` (a failpoint that drops the tenant check
   * of one form is on), the data's own.
   */
  async lookupTenant(tenantId: string, sessionId: string, dataTenant = this.#options.failpoints.enabled("no-tenant-check")): Promise<string> {
    if (!dataTenant) return tenantId;
    return (await this.#read(() => this.#options.registry.getSessionTenant(sessionId))) ?? tenantId;
  }

  /**
   * A connection of `tenantId` by websocket id, or `null` (the HTTP lookup `GET /v1/connections/:id`). Failpoints
   * `no-tenant-check` and `no-tenant-check-http-lookup`: of any tenant.
   */
  async findConnection(tenantId: string, websocketId: string): Promise<ConnectionRecord | null> {
    const { registry, bus, failpoints } = this.#options;
    const dataTenant = failpoints.enabled("no-tenant-check") || failpoints.enabled("no-tenant-check-http-lookup");
    if (!dataTenant) return this.#read(() => registry.findConnection(tenantId, websocketId));
    const sessionId = await this.#read(() => bus.sessionOfAnyTenant(websocketId));
    const tenant = sessionId ? await this.lookupTenant(tenantId, sessionId, true) : tenantId;
    return this.#read(() => registry.findConnection(tenant, websocketId));
  }

  /**
   * Every connection of a session of `tenantId`, for the HTTP lookup `GET /v1/sessions/:id/connections`.
   * Failpoints `no-tenant-check` and `no-tenant-check-http-lookup`: of the session's own tenant.
   */
  async lookupSessionConnections(tenantId: string, sessionId: string): Promise<ConnectionRecord[]> {
    const dataTenant = this.#options.failpoints.enabled("no-tenant-check") || this.#options.failpoints.enabled("no-tenant-check-http-lookup");
    const tenant = await this.lookupTenant(tenantId, sessionId, dataTenant);
    return this.#read(() => this.#options.registry.getSessionConnections(tenant, sessionId));
  }

  /** Every connection of a session of `tenantId` (failpoint `no-tenant-check`: of the session's own tenant). */
  async sessionConnections(tenantId: string, sessionId: string): Promise<ConnectionRecord[]> {
    const tenant = await this.lookupTenant(tenantId, sessionId);
    return this.#read(() => this.#options.registry.getSessionConnections(tenant, sessionId));
  }

  /**
   * Runs one registry read of a lookup or route. Failpoint `no-fail-fast`: while it fails with
   * `REGISTRY_ERR_UNAVAILABLE` it is retried every {@link NO_FAIL_FAST_RETRY_MS} for up to
   * {@link NO_FAIL_FAST_MAX_WAIT_MS}, as a client with an offline queue would keep the command waiting.
   */
  async #read<T>(work: () => Promise<T>): Promise<T> {
    if (!this.#options.failpoints.enabled("no-fail-fast")) return work();
    const deadline = Date.now() + NO_FAIL_FAST_MAX_WAIT_MS;
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if ((error as { code?: unknown }).code !== "REGISTRY_ERR_UNAVAILABLE" || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, NO_FAIL_FAST_RETRY_MS));
      }
    }
  }

  /**
   * Delivers `payload` to the targets of `to` in `sessionId` (of `tenantId`), here and on other instances, and
   * resolves with how many sockets received it. `fromWebsocketId` never receives its own route. Rejects with
   * `NOT_FOUND` when the target connection, or every connection of the session, is missing or another tenant's.
   */
  async route(tenantId: string, sessionId: string, to: RouteTarget, payload: unknown, id: FrameId, fromWebsocketId: string | null): Promise<RouteResult> {
    const { registry, connections, failpoints, instanceId } = this.#options;
    const frame = messageFrame(id, fromWebsocketId, sessionId, payload);
    let targets: ConnectionRecord[];
    if ("websocket_id" in to) {
      // Failpoint `no-tenant-check-ws-id`: only this form, and only from a WebSocket sender, skips the tenant check.
      const dataTenant = failpoints.enabled("no-tenant-check") || (fromWebsocketId !== null && failpoints.enabled("no-tenant-check-ws-id"));
      const local = connections.get(to.websocket_id);
      if (local && local.record.session_id === sessionId && (local.record.tenant_id === tenantId || dataTenant)) {
        // Held here: the local map is authoritative, so this works without Redis too.
        targets = [local.record];
      } else {
        let record: ConnectionRecord | null;
        try {
          const tenant = await this.lookupTenant(tenantId, sessionId, dataTenant);
          record = await this.#read(() => registry.getConnection(tenant, sessionId, to.websocket_id));
        } catch (error) {
          throw toProtocolError(error, id);
        }
        if (!record) throw new ProtocolError("NOT_FOUND", "no such connection in this session", id);
        targets = [record];
      }
    } else {
      let all: ConnectionRecord[];
      try {
        all = await this.sessionConnections(tenantId, sessionId);
      } catch (error) {
        const protocolError = toProtocolError(error, id);
        if (protocolError.code !== "REGISTRY_UNAVAILABLE") throw protocolError;
        // Degraded mode: this instance's own sockets are still reachable.
        const local = [...connections.values()]
          .map((connection) => connection.record)
          .filter((record) => record.session_id === sessionId && record.tenant_id === tenantId && matches(record, to) && record.websocket_id !== fromWebsocketId);
        if (local.length === 0) throw protocolError;
        return { delivered: this.#deliverLocal(local.map((record) => record.websocket_id), frame), partial: true };
      }
      if (all.length === 0) throw new ProtocolError("NOT_FOUND", "no such session", id);
      // Failpoint `filter-one-field`: a route to `agent_type` and `pillar` is matched on `agent_type` alone.
      const filter = failpoints.enabled("filter-one-field") && "agent_type" in to && to.agent_type !== undefined ? { agent_type: to.agent_type } : to;
      targets = all.filter((record) => matches(record, filter));
    }
    const matched = targets.length;
    targets = targets.filter((record) => record.websocket_id !== fromWebsocketId);
    // Failpoint `ack-overcount`: the count is taken before the sender was filtered out of the targets.
    const overcount = failpoints.enabled("ack-overcount") ? matched - targets.length : 0;
    if (fromWebsocketId !== null && failpoints.enabled("echo-sender") && connections.get(fromWebsocketId)) {
      targets.push(connections.get(fromWebsocketId)!.record);
    }
    const byInstance = new Map<string, string[]>();
    for (const record of targets) {
      const ids = byInstance.get(record.instance_id) ?? [];
      ids.push(record.websocket_id);
      byInstance.set(record.instance_id, ids);
    }
    let delivered = overcount;
    let unconfirmed = false;
    const remote: Promise<RemoteDelivery>[] = [];
    for (const [holder, ids] of byInstance) {
      if (holder === instanceId) delivered += this.#deliverLocal(ids, frame);
      else remote.push(this.#deliverRemote(holder, ids, frame, id));
    }
    for (const outcome of await Promise.all(remote)) {
      delivered += outcome.delivered;
      unconfirmed ||= !outcome.confirmed;
    }
    return unconfirmed ? { delivered, partial: true } : { delivered };
  }

  /** Handles a message on this instance's channel: a deliver request, a delivered count, or an eviction. */
  onBusMessage(message: BusMessage): void {
    switch (message.t) {
      case "deliver":
        this.#answerDeliver(message);
        return;
      case "delivered":
        this.#settle(message.r, message.n);
        return;
      case "evict": {
        const connection = this.#options.connections.get(message.id);
        if (connection && message.by !== this.#options.instanceId) this.#options.connections.evict(connection);
        return;
      }
    }
  }

  /** Resolves every remote delivery still waiting with 0 (shutdown). */
  close(): void {
    for (const pending of this.#pendingRemote.values()) {
      clearTimeout(pending.timer);
      pending.resolve(0);
    }
    this.#pendingRemote.clear();
  }

  #deliverLocal(ids: readonly string[], frame: string): number {
    const delivered = this.#options.connections.sendTo(ids, frame);
    this.#options.metrics.routes.inc({ path: "local" }, delivered);
    return delivered;
  }

  /**
   * Publishes to the holder's channel and waits (bounded) for its count of sockets that got the frame. A holder
   * that received the request but whose count did not come back in time (e.g. Redis was cut meanwhile) leaves the
   * outcome unknown: 0 confirmed, `confirmed` false. Failpoint `drop-remote`: publishes nothing and counts every
   * target as delivered; failpoint `drop-remote-1pct`: the same for about 1 in 100 routes, chosen by a hash of the
   * route's id (so the same routes are dropped on every run); failpoint `uncounted-remote-routes`: the
   * delivered count is acknowledged but left out of `traffic_cop_routes_total`.
   */
  async #deliverRemote(holder: string, ids: string[], frame: string, id: FrameId): Promise<RemoteDelivery> {
    const { bus, metrics, failpoints, instanceId, remoteAckTimeoutMs } = this.#options;
    if (failpoints.enabled("drop-remote") || (failpoints.enabled("drop-remote-1pct") && fnv1a(`${holder}/${String(id)}`) % 100 === 0)) {
      metrics.routes.inc({ path: "remote" }, ids.length);
      return { delivered: ids.length, confirmed: true };
    }
    if (this.#pendingRemote.size >= MAX_PENDING_REMOTE) {
      throw new ProtocolError("REGISTRY_UNAVAILABLE", "too many remote deliveries in flight; retry later");
    }
    const requestId = `${instanceId}:${++this.#requestSeq}:${this.#incarnation}`;
    let timedOut = false;
    const reply = new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        this.#pendingRemote.delete(requestId);
        timedOut = true;
        resolve(0);
      }, remoteAckTimeoutMs);
      timer.unref();
      this.#pendingRemote.set(requestId, { resolve, timer });
    });
    let receivers: number | undefined;
    try {
      receivers = await bus.publish(holder, { t: "deliver", r: requestId, from: instanceId, ids, frame });
    } catch (error) {
      this.#settle(requestId, 0);
      throw toProtocolError(error);
    }
    // Nobody subscribed: the holder is dead and its records await reaping.
    if (receivers === 0) this.#settle(requestId, 0);
    const delivered = await reply;
    // Failpoint `uncounted-remote-routes`: the delivery is acknowledged but not counted.
    if (!failpoints.enabled("uncounted-remote-routes")) metrics.routes.inc({ path: "remote" }, delivered);
    return { delivered, confirmed: !timedOut };
  }

  #settle(requestId: string, delivered: number): void {
    const pending = this.#pendingRemote.get(requestId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pendingRemote.delete(requestId);
    pending.resolve(delivered);
  }

  /**
   * Sends a deliver request's frame to the local sockets it names and publishes the count back, once per request: a
   * copy of a request already handled (see {@link DELIVER_DEDUPE_MS}) is dropped and counted in
   * `traffic_cop_bus_duplicates_total`. Failpoint `dup-remote`: about 1 request in 20 (a hash of the request id picks
   * them, the same ones on every run) is sent twice, counted once.
   */
  #answerDeliver(request: DeliverRequest): void {
    if (!this.#firstCopy(request)) {
      this.#options.metrics.busDuplicates.inc();
      return;
    }
    const delivered = this.#options.connections.sendTo(request.ids, request.frame);
    // The request id without its incarnation (the last part), so that the same requests are picked on every run.
    if (this.#options.failpoints.enabled("dup-remote") && fnv1a(request.r.slice(0, request.r.lastIndexOf(":"))) % 20 === 0) {
      this.#options.connections.sendTo(request.ids, request.frame);
    }
    void this.#options.bus.publish(request.from, { t: "delivered", r: request.r, n: delivered }).catch(() => undefined);
  }

  /** Remembers a deliver request; false if it was handled already within {@link DELIVER_DEDUPE_MS}. */
  #firstCopy(request: DeliverRequest): boolean {
    const now = performance.now();
    const handled = this.#handledDelivers;
    const key = `${request.from}\n${request.r}`;
    const seen = handled.get(key);
    if (seen !== undefined && now - seen < DELIVER_DEDUPE_MS) return false;
    handled.delete(key);
    for (const [oldest, at] of handled) {
      if (now - at < DELIVER_DEDUPE_MS && handled.size < MAX_REMEMBERED_DELIVERS) break;
      handled.delete(oldest);
    }
    handled.set(key, now);
    return true;
  }
}

function matches(record: ConnectionRecord, to: RouteTarget): boolean {
  if ("websocket_id" in to) return record.websocket_id === to.websocket_id;
  return (to.agent_type === undefined || record.agent_type === to.agent_type) && (to.pillar === undefined || record.pillar === to.pillar);
}
