import { createHash } from "node:crypto";
import { once } from "node:events";
import { connect as connectTcp, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { openHandshake, planOf, type SocketOwner, type TaggedSocket } from "./client-handshake.js";
import { FleetSocket, type FrameError } from "./fleet-socket.js";

/**
 * A FleetSocket connected through the fleet's own handshake (client-handshake.ts) to `port`, and what it reported
 * (listening from the start, as the fleet does: frames that come with the handshake response are handled at once).
 */
async function connect(port: number): Promise<{ ws: FleetSocket; seen: ReturnType<typeof record> }> {
  const ws = new FleetSocket();
  const seen = record(ws);
  const owner: SocketOwner = {
    id: { sourceAddress: undefined },
    handleFrame: () => undefined,
    handleError: () => undefined,
    handleClose: (_ws, code) => {
      throw new Error(`handshake failed: ${(ws as TaggedSocket).failure ?? code}`);
    },
  };
  const plan = planOf(`ws://127.0.0.1:${port}`);
  openHandshake(owner, ws as TaggedSocket, plan, `GET /ws?session_id=s1${plan.requestMiddle}token\r\n\r\n`, performance.now());
  await expect.poll(() => ws.readyState === FleetSocket.OPEN, POLL).toBe(true);
  onTestFinished(() => ws.terminate());
  return { ws, seen };
}

/** expect.poll's options here: loopback events come within milliseconds, a loaded CI machine may take seconds. */
const POLL = { timeout: 5_000, interval: 5 };

/** A `ws` server on a free port, and the server side of each connection as it comes. */
async function wsServer(): Promise<{ port: number; next: () => Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  onTestFinished(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const waiting: WebSocket[] = [];
  wss.on("connection", (socket) => waiting.push(socket));
  return {
    port: (wss.address() as AddressInfo).port,
    next: async () => {
      await expect.poll(() => waiting.length > 0, POLL).toBe(true);
      return waiting.shift()!;
    },
  };
}

/**
 * A server that answers the upgrade by hand and then writes whatever frames a test gives it (ws cannot send frames
 * that break the protocol). `head` goes out in the same write as the 101 response.
 */
async function rawServer(head: Buffer = Buffer.alloc(0)): Promise<{ port: number; next: () => Promise<{ socket: Socket; received: Buffer[] }> }> {
  const waiting: { socket: Socket; received: Buffer[] }[] = [];
  const server: Server = createServer((socket) => {
    let request = Buffer.alloc(0);
    let upgraded = false;
    const received: Buffer[] = [];
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      if (!upgraded) {
        request = Buffer.concat([request, chunk]);
        const end = request.indexOf("\r\n\r\n");
        if (end < 0) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(request.toString("latin1"))![1]!;
        const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), head]));
        upgraded = true;
        waiting.push({ socket, received });
        return;
      }
      received.push(chunk);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => sockets.add(socket));
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    next: async () => {
      await expect.poll(() => waiting.length > 0, POLL).toBe(true);
      return waiting.shift()!;
    },
  };
}

/** A server frame: unmasked unless asked, FIN unless asked. */
function frame(opcode: number, payload: Buffer | string, options: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const length = data.length;
  const extended = length < 126 ? Buffer.alloc(0) : length < 65_536 ? Buffer.alloc(2) : Buffer.alloc(8);
  if (length >= 126 && length < 65_536) extended.writeUInt16BE(length);
  if (length >= 65_536) extended.writeBigUInt64BE(BigInt(length));
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  const second = (options.mask ? 0x80 : 0) | (length < 126 ? length : length < 65_536 ? 126 : 127);
  const mask = options.mask ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
  const body = options.mask ? Buffer.from(data.map((byte, i) => byte ^ mask[i % 4]!)) : data;
  return Buffer.concat([Buffer.from([first, second]), extended, mask, body]);
}

/** The client frames a raw server received: opcode and unmasked payload of each (all must be masked). */
function clientFrames(chunks: Buffer[]): { opcode: number; payload: Buffer }[] {
  let data = Buffer.concat(chunks);
  const frames: { opcode: number; payload: Buffer }[] = [];
  while (data.length >= 2) {
    expect(data[1]! & 0x80).toBe(0x80);
    let length = data[1]! & 0x7f;
    let offset = 2;
    if (length === 126) [length, offset] = [data.readUInt16BE(2), 4];
    else if (length === 127) [length, offset] = [Number(data.readBigUInt64BE(2)), 10];
    const mask = data.subarray(offset, offset + 4);
    const payload = Buffer.from(data.subarray(offset + 4, offset + 4 + length).map((byte, i) => byte ^ mask[i % 4]!));
    frames.push({ opcode: data[0]! & 0x0f, payload });
    data = data.subarray(offset + 4 + length);
  }
  return frames;
}

function closePayload(code: number, reason = ""): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code);
  payload.write(reason, 2);
  return payload;
}

/** Messages, errors and the close of a FleetSocket, as they come. */
function record(ws: FleetSocket) {
  const seen = { messages: [] as string[], errors: [] as FrameError[], close: undefined as { code: number; reason: string } | undefined };
  ws.on("message", (data: Buffer) => seen.messages.push(data.toString()));
  ws.on("error", (error: FrameError) => seen.errors.push(error));
  ws.on("close", (code: number, reason: Buffer) => (seen.close = { code, reason: reason.toString() }));
  return seen;
}

describe("FleetSocket", () => {
  it("should exchange text messages of every length form with a ws server, masked, and answer its pings", async () => {
    const server = await wsServer();
    const { ws, seen } = await connect(server.port);
    const peer = await server.next();
    const received: string[] = [];
    peer.on("message", (data) => received.push(data.toString()));
    const texts = ["hi", "é".repeat(100), "x".repeat(70_000), ""];
    for (const text of texts) ws.send(text);
    for (const text of texts) peer.send(text);
    await expect.poll(() => received.length === texts.length && seen.messages.length === texts.length, POLL).toBe(true);
    expect(received).toEqual(texts);
    expect(seen.messages).toEqual(texts);
    peer.ping("are you there");
    const [pong] = (await once(peer, "pong")) as [Buffer];
    expect(pong.toString()).toBe("are you there");
    expect(seen.errors).toEqual([]);
  });

  it("should close with the server's code and reason and echo it; close() and terminate() close as ws does", async () => {
    const server = await wsServer();
    const { seen: seenA } = await connect(server.port);
    const peerA = await server.next();
    const peerClosed = once(peerA, "close");
    peerA.close(4000, "resumed elsewhere");
    await expect.poll(() => seenA.close !== undefined, POLL).toBe(true);
    expect(seenA.close).toEqual({ code: 4000, reason: "resumed elsewhere" });
    expect(((await peerClosed) as [number, Buffer])[0]).toBe(4000);

    const { ws: b, seen: seenB } = await connect(server.port);
    const peerB = await server.next();
    const peerBClosed = once(peerB, "close");
    b.close(1000, "fleet stopped");
    expect(b.readyState).toBe(FleetSocket.CLOSING);
    await expect.poll(() => seenB.close !== undefined, POLL).toBe(true);
    expect(seenB.close).toEqual({ code: 1000, reason: "fleet stopped" });
    const [code, reason] = (await peerBClosed) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([1000, "fleet stopped"]);
    expect(b.readyState).toBe(FleetSocket.CLOSED);
    b.send("after close"); // ignored, as ws ignores it

    const { ws: c, seen: seenC } = await connect(server.port);
    const peerC = await server.next();
    const peerCClosed = once(peerC, "close");
    c.terminate();
    await expect.poll(() => seenC.close !== undefined, POLL).toBe(true);
    expect(seenC.close?.code).toBe(1006);
    expect(((await peerCClosed) as [number])[0]).toBe(1006);

    const { seen: seenD } = await connect(server.port);
    (await server.next()).terminate();
    await expect.poll(() => seenD.close !== undefined, POLL).toBe(true);
    expect(seenD.close?.code).toBe(1006);
  });

  it("should parse frames that arrive with the handshake, split over reads and fragmented around a ping", async () => {
    const whole = frame(0x1, "a".repeat(300));
    // The 101 response carries a complete frame and the first three bytes of the next one.
    const server = await rawServer(Buffer.concat([frame(0x1, "in the head"), whole.subarray(0, 3)]));
    const { seen } = await connect(server.port);
    const { socket, received } = await server.next();
    for (let i = 3; i < whole.length; i += 50) await new Promise<void>((resolve) => socket.write(whole.subarray(i, i + 50), () => resolve()));
    socket.write(frame(0x1, "hel", { fin: false }));
    socket.write(frame(0x9, "ping in between"));
    socket.write(frame(0x0, "lo ", { fin: false }));
    socket.write(frame(0x0, "world"));
    socket.write(frame(0x2, Buffer.from("binary")));
    await expect.poll(() => seen.messages.length === 4, POLL).toBe(true);
    expect(seen.messages).toEqual(["in the head", "a".repeat(300), "hello world", "binary"]);
    await expect.poll(() => clientFrames(received).length === 1, POLL).toBe(true);
    expect(clientFrames(received)).toEqual([{ opcode: 0xa, payload: Buffer.from("ping in between") }]);
    // A close frame without a code: 1005 here, an empty close frame back.
    socket.write(frame(0x8, Buffer.alloc(0)));
    await expect.poll(() => clientFrames(received).length === 2, POLL).toBe(true);
    expect(clientFrames(received)[1]).toEqual({ opcode: 0x8, payload: Buffer.alloc(0) });
    socket.end();
    await expect.poll(() => seen.close !== undefined, POLL).toBe(true);
    expect(seen.close).toEqual({ code: 1005, reason: "" });
    expect(seen.errors).toEqual([]);
  });

  it("should stay closed when terminated during its handshake, and drop the socket the handshake then gives it", async () => {
    const server = await wsServer();
    const ws = new FleetSocket();
    const seen = record(ws);
    ws.terminate();
    expect(seen.close?.code).toBe(1006);
    const socket = connectTcp(server.port);
    await once(socket, "connect");
    ws.adopt(socket, Buffer.alloc(0));
    expect(socket.destroyed).toBe(true);
    expect(ws.readyState).toBe(FleetSocket.CLOSED);
    ws.send("nothing");
    expect(seen.messages).toEqual([]);
  });

  it("should handle no frame after terminate() from a message handler", async () => {
    const server = await rawServer();
    const { ws, seen } = await connect(server.port);
    ws.on("message", () => ws.terminate());
    const { socket } = await server.next();
    socket.write(Buffer.concat([frame(0x1, "first"), frame(0x1, "second"), frame(0x9, "ping")]));
    await expect.poll(() => seen.close !== undefined, POLL).toBe(true);
    expect(seen.messages).toEqual(["first"]);
    expect(seen.close?.code).toBe(1006);
  });

  const violations: [string, Buffer[], string, number][] = [
    ["a reserved bit", [frame(0x1, "x", { rsv: 4 })], "WS_ERR_UNEXPECTED_RSV_1", 1002],
    ["a masked server frame", [frame(0x1, "x", { mask: true })], "WS_ERR_UNEXPECTED_MASK", 1002],
    ["an unknown opcode", [frame(0x3, "x")], "WS_ERR_INVALID_OPCODE", 1002],
    ["a continuation without a message", [frame(0x0, "x")], "WS_ERR_INVALID_OPCODE", 1002],
    ["a new message inside a fragmented one", [frame(0x1, "x", { fin: false }), frame(0x1, "y")], "WS_ERR_INVALID_OPCODE", 1002],
    ["a fragmented ping", [frame(0x9, "x", { fin: false })], "WS_ERR_EXPECTED_FIN", 1002],
    ["a ping over 125 bytes", [frame(0x9, "x".repeat(126))], "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002],
    ["a close frame of one byte", [frame(0x8, Buffer.from([3]))], "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002],
    ["close code 1005", [frame(0x8, closePayload(1005))], "WS_ERR_INVALID_CLOSE_CODE", 1002],
    ["close code 999", [frame(0x8, closePayload(999))], "WS_ERR_INVALID_CLOSE_CODE", 1002],
    ["invalid UTF-8 in a text message", [frame(0x1, Buffer.from([0x68, 0xc3, 0x28]))], "WS_ERR_INVALID_UTF8", 1007],
    ["invalid UTF-8 in a close reason", [frame(0x8, Buffer.concat([closePayload(1000), Buffer.from([0xff])]))], "WS_ERR_INVALID_UTF8", 1007],
    ["a message over maxPayload", [frame(0x1, "x".repeat(1_001))], "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009],
    ["fragments over maxPayload together", [frame(0x1, "x".repeat(600), { fin: false }), frame(0x0, "x".repeat(600))], "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009],
  ];
  for (const [what, frames, code, closeCode] of violations) {
    it(`should refuse ${what}: error ${code}, close frame ${closeCode}, then close 1006, with no message`, async () => {
      const maxPayload = FleetSocket.maxPayload;
      FleetSocket.maxPayload = 1_000;
      onTestFinished(() => void (FleetSocket.maxPayload = maxPayload));
      const server = await rawServer();
      const { seen } = await connect(server.port);
      const { socket, received } = await server.next();
      socket.write(Buffer.concat(frames));
      await expect.poll(() => seen.close !== undefined, POLL).toBe(true);
      expect(seen.errors.map((error) => error.code)).toEqual([code]);
      expect(seen.errors[0]?.closeCode).toBe(closeCode);
      expect(seen.messages).toEqual([]);
      expect(seen.close?.code).toBe(1006);
      await expect.poll(() => clientFrames(received).length > 0, POLL).toBe(true);
      const [sent] = clientFrames(received);
      expect(sent?.opcode).toBe(0x8);
      expect(sent?.payload.readUInt16BE(0)).toBe(closeCode);
    });
  }

  it("should destroy the socket when the server never answers its close frame", async () => {
    const timeout = FleetSocket.closeTimeoutMs;
    FleetSocket.closeTimeoutMs = 200;
    onTestFinished(() => void (FleetSocket.closeTimeoutMs = timeout));
    const server = await rawServer();
    const { ws, seen } = await connect(server.port);
    const { received } = await server.next();
    const started = Date.now();
    ws.close(1000, "bye");
    await expect.poll(() => seen.close !== undefined, POLL).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(seen.close?.code).toBe(1006);
    expect(clientFrames(received)).toEqual([{ opcode: 0x8, payload: closePayload(1000, "bye") }]);
  });
});
