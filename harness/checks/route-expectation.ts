/**
 * The delivery oracle: who should receive a fleet route, computed from the fleet's own recorded history and the
 * runtime's process states, never from the gateway's answer. `delivery` compares it with who did.
 */
import type { RouteTarget, RunEvent } from "../events/run-events.js";
import { buildClientHistories, type SocketSpan } from "./client-history.js";

/**
 * How long after a route's answer a recipient's connection must still be unchanged for it to be expected, ms. A
 * close is recorded when its handshake completes, which is a round trip (and a turn of a busy worker's event loop)
 * after the gateway stopped writing to that socket: the fleet's own stop closes every socket while the last routes
 * are answered. 1 s covers a loopback round trip on a loaded machine many times over; a route it excludes is
 * counted as ambiguous, not dropped from view.
 */
export const CLOSE_MARGIN_MS = 1_000;

/** What the oracle knows of one fleet client. */
interface ClientFacts {
  client: string;
  tenant_id: string;
  session_id: string;
  /** Absent in runs recorded before welcomes carried it: then any `agent_type` filter is taken to match. */
  agent_type?: string;
  pillar?: string;
  sockets: SocketSpan[];
  /** Times (epoch ms, ascending) of every change of the client's connection state: attempts, welcomes, disconnects, drain notices. */
  changes: number[];
}

/** A recipient's standing for one route. */
export type RecipientClass =
  /** Matches the route and was connected on a live instance, unchanged, from before the send until after the answer. */
  | "expected"
  /** Matches the route, but its connection changed (connecting, reconnecting, moving, closed) around the route, or its instance was not up throughout. */
  | "ambiguous"
  /** Must never receive it: the sender, a client of another session or tenant, or one the filter does not match. */
  | "unexpected";

/** The route as the oracle needs it: the fleet's `message_sent` and the time of its answer. */
export interface RouteFacts {
  /** Sending client. */
  client: string;
  session_id: string;
  to: RouteTarget;
  /** Epoch ms of the send. */
  sent: number;
  /** Epoch ms of the answer (ack or error) the sender got. */
  answered: number;
}

/** Who should receive each route of a run, from the recorded history. */
export class RouteExpectation {
  readonly #clients = new Map<string, ClientFacts>();
  readonly #bySession = new Map<string, ClientFacts[]>();
  /** Per instance: [t, up] in recorded order; an instance without process events counts as up. */
  readonly #instanceStates = new Map<string, { t: number; up: boolean }[]>();

  constructor(events: readonly RunEvent[]) {
    for (const [client, history] of buildClientHistories(events)) {
      if (history.tenant_id === undefined || history.session_id === undefined) continue;
      const facts: ClientFacts = { client, tenant_id: history.tenant_id, session_id: history.session_id, sockets: history.sockets, changes: [] };
      this.#clients.set(client, facts);
      const key = sessionKey(facts.tenant_id, facts.session_id);
      const members = this.#bySession.get(key) ?? [];
      members.push(facts);
      this.#bySession.set(key, members);
    }
    for (const event of events) {
      if (event.source === "process" && event.type === "process_state") {
        const states = this.#instanceStates.get(event.target) ?? [];
        states.push({ t: event.t, up: event.state === "started" });
        this.#instanceStates.set(event.target, states);
        continue;
      }
      if (event.source !== "fleet") continue;
      const facts = this.#clients.get(event.client);
      if (!facts) continue;
      switch (event.type) {
        case "welcome":
          if (event.agent_type !== undefined) facts.agent_type = event.agent_type;
          if (event.pillar !== undefined) facts.pillar = event.pillar;
          facts.changes.push(event.t);
          break;
        case "connect_attempt":
        case "disconnect":
        case "reconnect_notice":
          facts.changes.push(event.t);
          break;
        default:
          break;
      }
    }
    for (const facts of this.#clients.values()) facts.changes.sort((a, b) => a - b);
  }

  /** The tenant of a fleet client, if it was ever welcomed. */
  tenantOf(client: string): string | undefined {
    return this.#clients.get(client)?.tenant_id;
  }

  /**
   * The matching clients of `route` (its session, filter, never the sender), each `expected` or `ambiguous`. A
   * client is expected when one socket of it was welcomed before the send on an instance that was up, that socket
   * matches a `websocket_id` target, neither the client's connection state changed from the welcome until
   * {@link CLOSE_MARGIN_MS} after the answer nor its instance's process state from the send to the answer.
   */
  candidates(route: RouteFacts): Map<string, Exclude<RecipientClass, "unexpected">> {
    const out = new Map<string, Exclude<RecipientClass, "unexpected">>();
    const sender = this.#clients.get(route.client);
    if (!sender) return out;
    for (const facts of this.#bySession.get(sessionKey(sender.tenant_id, route.session_id)) ?? []) {
      if (facts.client === route.client || !this.#filterMatches(facts, route.to)) continue;
      out.set(facts.client, this.#steadySocket(facts, route) ? "expected" : "ambiguous");
    }
    return out;
  }

  /** How `client` stands towards `route` (`unexpected` unless it is one of {@link candidates}). */
  classify(route: RouteFacts, client: string, candidates = this.candidates(route)): RecipientClass {
    return candidates.get(client) ?? "unexpected";
  }

  #filterMatches(facts: ClientFacts, to: RouteTarget): boolean {
    if ("websocket_id" in to) return facts.sockets.some((socket) => socket.websocket_id === to.websocket_id);
    return (to.agent_type === undefined || facts.agent_type === undefined || facts.agent_type === to.agent_type) && (to.pillar === undefined || facts.pillar === undefined || facts.pillar === to.pillar);
  }

  #steadySocket(facts: ClientFacts, route: RouteFacts): SocketSpan | undefined {
    const socket = facts.sockets.findLast((s) => s.opened < route.sent);
    const until = route.answered + CLOSE_MARGIN_MS;
    if (!socket || (socket.closed !== undefined && socket.closed <= until)) return undefined;
    if ("websocket_id" in route.to && socket.websocket_id !== route.to.websocket_id) return undefined;
    // The welcome of this socket is the last change before the send, and nothing changes until well after the answer.
    const changesBefore = countAtOrBefore(facts.changes, until);
    const changesToOpen = countAtOrBefore(facts.changes, socket.opened);
    if (changesBefore !== changesToOpen) return undefined;
    return this.#instanceUp(socket.instance_id, route.sent, route.answered) ? socket : undefined;
  }

  #instanceUp(instanceId: string, from: number, to: number): boolean {
    const states = this.#instanceStates.get(instanceId);
    if (!states) return true;
    let up = true;
    for (const state of states) {
      if (state.t <= from) up = state.up;
      else if (state.t <= to) return false;
      else break;
    }
    return up;
  }
}

function sessionKey(tenantId: string, sessionId: string): string {
  return `${tenantId}\u0000${sessionId}`;
}

/** How many of the ascending `times` are at most `t` (binary search). */
function countAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
