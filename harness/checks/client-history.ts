import type { RunEvent } from "../events/run-events.js";

/** One welcomed socket of a fleet client. */
export interface SocketSpan {
  websocket_id: string;
  session_id: string;
  instance_id: string;
  resumed: boolean;
  /** Epoch ms of the welcome. */
  opened: number;
  closed?: number;
  close_code?: number;
  expected_close?: boolean;
}

/** What the history says about one client. */
export interface ClientHistory {
  client: string;
  tenant_id?: string;
  session_id?: string;
  sockets: SocketSpan[];
  /** Stretches with no open socket after the first welcome: [from, to) epoch ms; `to` undefined if still down. */
  outages: { from: number; to?: number }[];
}

/**
 * Rebuilds every fleet client's sockets from the recorded events up to `until` (inclusive). A client may hold two
 * sockets for a moment (make-before-break on a drain notice): a `disconnect` closes the open socket on its
 * `instance_id`, else the oldest open one.
 */
export function buildClientHistories(events: readonly RunEvent[], until: number = Number.POSITIVE_INFINITY): Map<string, ClientHistory> {
  const clients = new Map<string, ClientHistory>();
  const get = (id: string) => {
    let history = clients.get(id);
    if (!history) clients.set(id, (history = { client: id, sockets: [], outages: [] }));
    return history;
  };
  for (const event of events) {
    if (event.source !== "fleet" || event.t > until) continue;
    switch (event.type) {
      case "welcome": {
        const history = get(event.client);
        const wasDown = !history.sockets.some((s) => s.closed === undefined);
        history.tenant_id = event.tenant_id;
        history.session_id = event.session_id;
        history.sockets.push({
          // A welcome without websocket_id breaks the protocol; the socket still counts, under an empty id.
          websocket_id: event.websocket_id ?? "",
          session_id: event.session_id,
          instance_id: event.instance_id ?? "",
          resumed: event.resumed,
          opened: event.t,
        });
        const outage = history.outages.at(-1);
        if (wasDown && outage && outage.to === undefined) outage.to = event.t;
        break;
      }
      case "disconnect": {
        const history = get(event.client);
        const open = history.sockets.filter((s) => s.closed === undefined);
        const socket = open.find((s) => s.instance_id === (event.instance_id ?? "")) ?? open[0];
        if (!socket) continue;
        socket.closed = event.t;
        socket.close_code = event.close_code;
        socket.expected_close = event.expected;
        if (!history.sockets.some((s) => s.closed === undefined)) history.outages.push({ from: event.t });
        break;
      }
      default:
        break;
    }
  }
  return clients;
}

/** The sockets of a history open at its end. */
export function openSockets(history: ClientHistory): SocketSpan[] {
  return history.sockets.filter((s) => s.closed === undefined);
}

/** The client's current socket (the newest open one), if connected. */
export function currentSocket(history: ClientHistory): SocketSpan | undefined {
  return openSockets(history).at(-1);
}

/** Whether the client had an open socket at time `t`. */
export function connectedAt(history: ClientHistory, t: number): SocketSpan | undefined {
  return history.sockets.filter((s) => s.opened <= t && (s.closed === undefined || s.closed > t)).at(-1);
}
