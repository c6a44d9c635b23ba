/**
 * The opening handshake of a simulated client's socket, done on a plain TCP socket that is then handed to a
 * {@link FleetSocket} for framing, and what a connect to one target needs (parsed once per target). Kept apart from
 * the client's protocol state machine (simulated-client.ts), which it reports to through {@link SocketOwner}.
 */
import { createHash } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import type WebSocket from "ws";
import { FleetSocket } from "./fleet-socket.js";

/** What a socket reports to: the simulated client that opened it. */
export interface SocketOwner {
  readonly id: { readonly sourceAddress: string | undefined };
  handleFrame(ws: TaggedSocket, data: WebSocket.RawData): void;
  handleError(ws: TaggedSocket, error: Error & { code?: string }): void;
  handleClose(ws: TaggedSocket, code: number, reason: Buffer): void;
}

/** Property of a socket that points back to its owner (cleared once the socket is closed). */
export const kClient = Symbol("client");
/**
 * A client's WebSocket: a {@link FleetSocket} on the raw path (`ws://` targets), a `ws` client WebSocket through
 * `ws`'s HTTP client otherwise. Both have what the fleet uses: `readyState`, `send`, `close`, `terminate`, events.
 */
export type ClientSocket = WebSocket | FleetSocket;
/** A client WebSocket with the client's bookkeeping on it (no closure per socket). */
export type TaggedSocket = ClientSocket & {
  [kClient]?: SocketOwner;
  expectedClose?: boolean;
  welcomed?: boolean;
  failure?: string;
  status?: number;
  /** The refusal's reason phrase when it is a bare token ({@link reasonToken}). */
  statusText?: string;
  /** The TCP socket while the opening handshake is in progress (raw path). */
  handshake?: HandshakeSocket;
};
type HandshakeSocket = Socket & { [kClient]?: SocketOwner; ws?: TaggedSocket; response?: Buffer };

/**
 * The opening handshake is done here on a plain TCP socket and the socket then handed to a FleetSocket for
 * framing: it saves ws's HTTP client (ClientRequest, response parser, a random key and a SHA-1 per connect), which
 * is most of a connect's client-side cost and of the memory a ramp leaves behind. The key is fixed: servers only
 * echo its hash.
 */
const HANDSHAKE_KEY = Buffer.from("traffic-cop-flt!").toString("base64"); // 16 bytes, as RFC 6455 requires
const HANDSHAKE_ACCEPT = createHash("sha1").update(`${HANDSHAKE_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
/** The accept value as bytes: a 28-character SHA-1 digest in base64 that only a server which read our key can send. */
const ACCEPT_VALUE = Buffer.from(HANDSHAKE_ACCEPT, "latin1");
const HEADER_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
/** `HTTP/1.1 101`: the status line of an accepted upgrade (the status is bytes 9-11 of any HTTP/1.x status line). */
const STATUS_101 = Buffer.from("101", "latin1");
/** Largest handshake response accepted, bytes. */
const MAX_HANDSHAKE_RESPONSE = 16_384;
/** How long an upgrade may take before the attempt counts as failed, ms. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often handshakes in progress are checked against {@link HANDSHAKE_TIMEOUT_MS}, ms. */
const HANDSHAKE_SWEEP_MS = 1_000;

/**
 * What a connect to one target needs, parsed once per target: host and port for the TCP connect and the constant
 * parts of the upgrade request (only the query string and the token vary between clients).
 */
export interface TargetPlan {
  host: string;
  port: number;
  /** `ws://` target: the handshake runs on a plain TCP socket (other schemes go through ws's HTTP client). */
  raw: boolean;
  /** `<target>/ws?`: the URL without its query string. */
  urlPrefix: string;
  /** Request head after the query string, up to the token. */
  requestMiddle: string;
}
const targetPlans = new Map<string, TargetPlan>();

/** The connect plan of `target`, parsed on first use. */
export function planOf(target: string): TargetPlan {
  let plan = targetPlans.get(target);
  if (plan === undefined) {
    const raw = target.startsWith("ws://");
    const hostPort = raw ? target.slice("ws://".length) : "";
    const colon = hostPort.lastIndexOf(":");
    const host = colon > 0 ? hostPort.slice(0, colon).replace(/^\[|\]$/g, "") : hostPort;
    const port = colon > 0 ? Number(hostPort.slice(colon + 1)) : 80;
    plan = {
      host,
      port,
      raw,
      urlPrefix: `${target}/ws?`,
      requestMiddle:
        ` HTTP/1.1\r\nHost: ${hostPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer `,
    };
    targetPlans.set(target, plan);
  }
  return plan;
}

/**
 * Handshakes in progress with their start (performance.now() ms). One sweep timer for all of them costs less than a
 * socket timeout per connect (a timer insert, and a refresh on every read and write of the socket).
 */
const handshakes = new Map<HandshakeSocket, number>();
let handshakeSweep: NodeJS.Timeout | undefined;

function watchHandshake(socket: HandshakeSocket, startedAt: number): void {
  handshakes.set(socket, startedAt);
  if (handshakeSweep === undefined) {
    handshakeSweep = setInterval(sweepHandshakes, HANDSHAKE_SWEEP_MS);
    handshakeSweep.unref();
  }
}

function unwatchHandshake(socket: HandshakeSocket): void {
  handshakes.delete(socket);
  if (handshakes.size === 0 && handshakeSweep !== undefined) {
    clearInterval(handshakeSweep);
    handshakeSweep = undefined;
  }
}

function sweepHandshakes(): void {
  const deadline = performance.now() - HANDSHAKE_TIMEOUT_MS;
  // Insertion order is start order: stop at the first handshake still within its time.
  for (const [socket, startedAt] of handshakes) {
    if (startedAt > deadline) break;
    unwatchHandshake(socket);
    failHandshake(socket, "TIMEOUT");
  }
}

/** Connects a TCP socket and writes the opening handshake; the socket's listeners finish or fail the attempt. */
export function openHandshake(client: SocketOwner, ws: TaggedSocket, plan: TargetPlan, request: string, startedAt: number): HandshakeSocket {
  const socket = (
    client.id.sourceAddress === undefined
      ? netConnect(plan.port, plan.host)
      : netConnect({ host: plan.host, port: plan.port, localAddress: client.id.sourceAddress })
  ) as HandshakeSocket;
  socket[kClient] = client;
  socket.ws = ws;
  // No setNoDelay here: FleetSocket.adopt sets it once the upgrade is done, and the request is a single write.
  socket.on("data", onHandshakeData);
  socket.on("error", onHandshakeError);
  socket.on("close", onHandshakeClose);
  socket.write(request, "latin1");
  watchHandshake(socket, startedAt);
  return socket;
}

function onHandshakeData(this: HandshakeSocket, chunk: Buffer): void {
  const response = this.response === undefined ? chunk : Buffer.concat([this.response, chunk]);
  const end = response.indexOf(HEADER_END);
  if (end < 0) {
    if (response.length > MAX_HANDSHAKE_RESPONSE) failHandshake(this, "HANDSHAKE_TOO_LARGE");
    else this.response = response;
    return;
  }
  this.response = undefined;
  const ws = this.ws as TaggedSocket;
  if (end < 12 || response.compare(STATUS_101, 0, 3, 9, 12) !== 0) {
    ws.status = Number(response.toString("latin1", 9, 12));
    const token = reasonToken(response.toString("latin1", 13, Math.min(response.indexOf(CRLF), 13 + MAX_REASON_TOKEN + 1)));
    if (token !== undefined) ws.statusText = token;
    failHandshake(this, "HTTP_STATUS");
    return;
  }
  const accept = response.indexOf(ACCEPT_VALUE);
  if (accept < 0 || accept > end) {
    failHandshake(this, "INVALID_ACCEPT");
    return;
  }
  unwatchHandshake(this);
  this.removeListener("data", onHandshakeData);
  this.removeListener("error", onHandshakeError);
  this.removeListener("close", onHandshakeClose);
  this[kClient] = undefined;
  this.ws = undefined;
  ws.handshake = undefined;
  (ws as FleetSocket).adopt(this, response.subarray(end + 4));
}

/** Longest reason phrase kept from a refusal's status line. */
const MAX_REASON_TOKEN = 64;
const CRLF = Buffer.from("\r\n");
const REASON_TOKEN = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * A status line's reason phrase when it is one bare token of at most {@link MAX_REASON_TOKEN} characters (the
 * reference gateway puts its error code there, `503 REGISTRY_UNAVAILABLE`, `503 DRAINING`); anything else (spaces,
 * markup, control characters, a longer phrase from another gateway) is not kept, so that a run's events and report
 * carry no text of the system under test's choosing beyond a short identifier.
 */
export function reasonToken(phrase: string): string | undefined {
  return phrase.length <= MAX_REASON_TOKEN && REASON_TOKEN.test(phrase) ? phrase : undefined;
}

function failHandshake(socket: HandshakeSocket, failure: string): void {
  const ws = socket.ws;
  if (ws !== undefined && ws.failure === undefined) ws.failure = failure;
  socket.destroy();
}

function onHandshakeError(this: HandshakeSocket, error: Error & { code?: string }): void {
  const ws = this.ws;
  if (ws !== undefined && ws.failure === undefined) ws.failure = error.code ?? "ERROR";
}

function onHandshakeClose(this: HandshakeSocket): void {
  unwatchHandshake(this);
  const ws = this.ws;
  const client = this[kClient];
  this.ws = undefined;
  this[kClient] = undefined;
  if (ws === undefined || client === undefined) return;
  ws.handshake = undefined;
  if (ws.failure === undefined) ws.failure = "CLOSED_DURING_HANDSHAKE";
  client.handleClose(ws, 1006, EMPTY);
}
