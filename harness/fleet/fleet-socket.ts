/**
 * The client side of RFC 6455 framing on a TCP socket whose opening handshake is done (client-handshake.ts), for a
 * fleet's simulated clients: what they use of a `ws` client WebSocket (`readyState`, `send` of text, `close`,
 * `terminate`, the `message` / `error` / `close` events) and nothing else: no extensions, no binary sends, no
 * backpressure on reads. Per socket it holds one object and a few fields where `ws` builds a WebSocket, a Receiver
 * (a Writable stream) and a Sender, and adopting a socket costs no stream set-up: the fleet's connects are bound by
 * the client's CPU on a loaded machine, and this was the largest part of it after Node's own `net.Socket`.
 *
 * Frames from the server are checked as `ws` checks them and a violation closes the socket (1002 protocol error,
 * 1007 invalid UTF-8 in a text message or close reason, 1009 a message over {@link FleetSocket.maxPayload}), with an
 * `error` event whose `code` names the violation (`WS_ERR_*`, `ws`'s codes). Pings are answered with a pong of the
 * same payload; a close frame is answered with the same code and the TCP socket is then ended, as `ws` does.
 */
import { randomFillSync } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { isUtf8 } from "node:buffer";

const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
const EMPTY = Buffer.alloc(0);
/** Largest control frame payload (RFC 6455 5.5). */
const MAX_CONTROL_PAYLOAD = 125;
/** Random bytes for masking keys, refilled when used up: one `randomFillSync` per 2,048 frames. */
const MASK_POOL = Buffer.alloc(8_192);
let maskOffset = MASK_POOL.length;

/** Error of a frame the server should not have sent; `code` is `ws`'s name for the violation. */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** The close code sent to the server. */
    readonly closeCode: number,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

/** Close codes a peer may send (RFC 6455 7.4, as `ws` checks them). */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A client WebSocket on an already upgraded TCP socket. */
export class FleetSocket extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  /** Largest message accepted from the server, bytes (`ws`'s `maxPayload`). */
  static maxPayload = 64 * 1_048_576;
  /** How long a close handshake may take before the TCP socket is destroyed, ms (the fleet's `ws` sockets had 5 s). */
  static closeTimeoutMs = 5_000;

  readyState = FleetSocket.CONNECTING;
  #socket: Socket | undefined;
  /** Bytes received and not parsed yet (a partial frame). */
  #pending: Buffer | undefined;
  /** Fragments of a message in progress, its opcode and length. */
  #fragments: Buffer[] | undefined;
  #fragmentOpcode = 0;
  #fragmentBytes = 0;
  /** Frames are parsed until a close frame, a protocol error or `terminate()`. */
  #reading = true;
  #closeSent = false;
  #closeCode = 1006;
  #closeReason = EMPTY;
  #closeTimer: NodeJS.Timeout | undefined;

  /**
   * Takes over `socket` (upgraded) and parses `head`, the bytes that came after the handshake response. A socket
   * closed or terminated during its handshake stays closed: the upgraded TCP socket is destroyed.
   */
  adopt(socket: Socket, head: Buffer): void {
    if (this.readyState !== FleetSocket.CONNECTING) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.readyState = FleetSocket.OPEN;
    socket.setNoDelay(true);
    // No 'end' listener: with allowHalfOpen off (net.connect's default) Node ends our side when the server ends its.
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    (socket as SocketWithOwner)[kOwner] = this;
    if (head.length > 0) this.receive(head);
  }

  /** Sends a text message. Ignored unless the socket is open (as `ws` only reports it through a callback). */
  send(data: string): void {
    if (this.readyState !== FleetSocket.OPEN) return;
    this.#write(OPCODE_TEXT, Buffer.from(data));
  }

  /** Starts the close handshake with `code` and `reason`; the TCP socket is destroyed if it does not end in time. */
  close(code?: number, reason?: string): void {
    if (this.readyState === FleetSocket.CLOSED) return;
    if (this.readyState === FleetSocket.CONNECTING) {
      this.terminate();
      return;
    }
    // Closing already: by us (a close frame sent, its timer running) or by the server (answered, our side ended).
    if (this.readyState === FleetSocket.CLOSING) return;
    this.readyState = FleetSocket.CLOSING;
    this.#sendClose(code, reason);
    this.#closeTimer = setTimeout(destroyLater, FleetSocket.closeTimeoutMs, this.#socket);
  }

  /** Destroys the TCP socket at once, without a close frame. */
  terminate(): void {
    if (this.readyState === FleetSocket.CLOSED) return;
    this.readyState = FleetSocket.CLOSING;
    this.#reading = false;
    if (this.#socket === undefined) this.closed();
    else this.#socket.destroy();
  }

  #sendClose(code: number | undefined, reason: string | undefined): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    if (code === undefined) {
      this.#write(OPCODE_CLOSE, EMPTY);
      return;
    }
    const text = reason === undefined ? EMPTY : Buffer.from(reason);
    const payload = Buffer.allocUnsafe(2 + text.length);
    payload.writeUInt16BE(code, 0);
    text.copy(payload, 2);
    this.#write(OPCODE_CLOSE, payload);
  }

  /** Writes one final, masked frame. */
  #write(opcode: number, payload: Buffer): void {
    const socket = this.#socket;
    if (socket === undefined || !socket.writable) return;
    const length = payload.length;
    const header = length < 126 ? 6 : length < 65_536 ? 8 : 14;
    const frame = Buffer.allocUnsafe(header + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) {
      frame[1] = 0x80 | length;
    } else if (length < 65_536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      frame.writeUInt32BE(length >>> 0, 6);
    }
    if (maskOffset === MASK_POOL.length) {
      randomFillSync(MASK_POOL);
      maskOffset = 0;
    }
    const at = header - 4;
    MASK_POOL.copy(frame, at, maskOffset, maskOffset + 4);
    maskOffset += 4;
    for (let i = 0; i < length; i++) frame[header + i] = payload[i]! ^ frame[at + (i & 3)]!;
    socket.write(frame);
  }

  /** @internal Parses bytes read from the socket (the socket's `data` listener). */
  receive(chunk: Buffer): void {
    if (!this.#reading) return;
    let data = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    // A message handler may terminate() the socket: no frame after that is handled.
    while (data.length >= 2 && this.#reading) {
      const first = data[0]!;
      const second = data[1]!;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = data.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        const high = data.readUInt32BE(2);
        if (high > 0x1fffff) return this.#fail("Unsupported WebSocket frame: payload length > 2^53 - 1", "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", 1009);
        length = high * 2 ** 32 + data.readUInt32BE(6);
        offset = 10;
      }
      const violation = this.#check(first, second, length);
      if (violation !== undefined) return this.#fail(...violation);
      if (data.length < offset + length) break;
      const payload = data.subarray(offset, offset + length);
      data = data.subarray(offset + length);
      if (!this.#frame(first & 0x80, first & 0x0f, payload)) return;
    }
    if (data.length > 0 && this.#reading) this.#pending = data;
  }

  /** What is wrong with a frame's first two bytes and length, if anything (`ws`'s checks and messages). */
  #check(first: number, second: number, length: number): [string, string, number] | undefined {
    if ((first & 0x70) !== 0) return ["Invalid WebSocket frame: RSV1, RSV2 or RSV3 must be clear", "WS_ERR_UNEXPECTED_RSV_1", 1002];
    if ((second & 0x80) !== 0) return ["Invalid WebSocket frame: MASK must be clear", "WS_ERR_UNEXPECTED_MASK", 1002];
    const fin = first & 0x80;
    const opcode = first & 0x0f;
    if (opcode === OPCODE_CONTINUATION) {
      if (this.#fragments === undefined) return ["Invalid WebSocket frame: invalid opcode 0", "WS_ERR_INVALID_OPCODE", 1002];
    } else if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
      if (this.#fragments !== undefined) return [`Invalid WebSocket frame: invalid opcode ${opcode}`, "WS_ERR_INVALID_OPCODE", 1002];
    } else if (opcode === OPCODE_CLOSE || opcode === OPCODE_PING || opcode === OPCODE_PONG) {
      if (!fin) return ["Invalid WebSocket frame: FIN must be set", "WS_ERR_EXPECTED_FIN", 1002];
      if (length > MAX_CONTROL_PAYLOAD) return [`Invalid WebSocket frame: invalid payload length ${length}`, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002];
      if (opcode === OPCODE_CLOSE && length === 1) return ["Invalid WebSocket frame: invalid payload length 1", "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002];
      return undefined;
    } else {
      return [`Invalid WebSocket frame: invalid opcode ${opcode}`, "WS_ERR_INVALID_OPCODE", 1002];
    }
    if (this.#fragmentBytes + length > FleetSocket.maxPayload) return ["Max payload size exceeded", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009];
    return undefined;
  }

  /** Handles one complete frame; false once the socket stopped reading. */
  #frame(fin: number, opcode: number, payload: Buffer): boolean {
    switch (opcode) {
      case OPCODE_PING:
        if (this.readyState === FleetSocket.OPEN) this.#write(OPCODE_PONG, payload);
        return true;
      case OPCODE_PONG:
        return true;
      case OPCODE_CLOSE:
        return this.#onCloseFrame(payload);
      default:
        break;
    }
    if (opcode !== OPCODE_CONTINUATION) this.#fragmentOpcode = opcode;
    if (!fin || this.#fragments !== undefined) {
      // A view: Node gives every read its own buffer, so the chunk under it is never written again.
      (this.#fragments ??= []).push(payload);
      this.#fragmentBytes += payload.length;
      if (!fin) return true;
      payload = Buffer.concat(this.#fragments, this.#fragmentBytes);
      this.#fragments = undefined;
      this.#fragmentBytes = 0;
    }
    const binary = this.#fragmentOpcode === OPCODE_BINARY;
    if (!binary && !isUtf8(payload)) {
      this.#fail("Invalid WebSocket frame: invalid UTF-8 sequence", "WS_ERR_INVALID_UTF8", 1007);
      return false;
    }
    this.emit("message", payload, binary);
    return this.readyState !== FleetSocket.CLOSED;
  }

  #onCloseFrame(payload: Buffer): boolean {
    let code = 1005;
    let reason = EMPTY;
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) {
        this.#fail(`Invalid WebSocket frame: invalid status code ${code}`, "WS_ERR_INVALID_CLOSE_CODE", 1002);
        return false;
      }
      reason = Buffer.from(payload.subarray(2));
      if (!isUtf8(reason)) {
        this.#fail("Invalid WebSocket frame: invalid UTF-8 sequence", "WS_ERR_INVALID_UTF8", 1007);
        return false;
      }
    }
    this.#reading = false;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#pending = undefined;
    // Answer with the same code (none for 1005), then end our side: the server closes the TCP connection.
    if (this.readyState === FleetSocket.OPEN) {
      this.readyState = FleetSocket.CLOSING;
      this.#sendClose(code === 1005 ? undefined : code, code === 1005 ? undefined : reason.toString());
    }
    this.#socket?.end();
    if (this.#closeTimer === undefined) this.#closeTimer = setTimeout(destroyLater, FleetSocket.closeTimeoutMs, this.#socket);
    return false;
  }

  /**
   * A frame broke the protocol: report it, send a close frame with `closeCode` and drop the connection once that
   * frame is written (without waiting for the server's answer, which `ws` waits for).
   */
  #fail(message: string, code: string, closeCode: number): void {
    if (this.readyState === FleetSocket.CLOSED) return;
    this.#reading = false;
    this.#pending = undefined;
    this.#fragments = undefined;
    this.readyState = FleetSocket.CLOSING;
    this.#sendClose(closeCode, "");
    this.#socket?.destroySoon();
    this.emit("error", new FrameError(message, code, closeCode));
  }

  /** @internal The TCP socket closed: the WebSocket is closed with the code of the server's close frame, else 1006. */
  closed(): void {
    if (this.readyState === FleetSocket.CLOSED) return;
    this.readyState = FleetSocket.CLOSED;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#pending = undefined;
    this.#fragments = undefined;
    this.emit("close", this.#closeCode, this.#closeReason);
  }
}

const kOwner = Symbol("fleetSocket");
type SocketWithOwner = Socket & { [kOwner]?: FleetSocket };

function onData(this: SocketWithOwner, chunk: Buffer): void {
  this[kOwner]?.receive(chunk);
}

/** A TCP error (reset, timeout): the socket is dropped and `close` reports 1006, as `ws` does. */
function onError(this: SocketWithOwner): void {
  this.destroy();
}

function onClose(this: SocketWithOwner): void {
  const owner = this[kOwner];
  this[kOwner] = undefined;
  owner?.closed();
}

function destroyLater(socket: Socket | undefined): void {
  socket?.destroy();
}
