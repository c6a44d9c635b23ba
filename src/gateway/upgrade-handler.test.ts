import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { Socket, type AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { describe, expect, it, onTestFinished } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { MemoryConnectionRegistry } from "../registry/memory-connection-registry.js";
import { LocalClusterBus } from "./cluster-bus.js";
import { ConnectionTable } from "./connection-table.js";
import { NO_FAILPOINTS, createFailpoints, type Failpoints } from "./failpoints.js";
import { FrameHandler } from "./frame-handler.js";
import { signJwt } from "./jwt.js";
import { GatewayMetrics } from "./metrics.js";
import { CLOSE_CODES } from "./protocol.js";
import { RegistryWriter } from "./registry-writer.js";
import { Router } from "./router.js";
import { UpgradeHandler } from "./upgrade-handler.js";

const SECRET = "upgrade-test-secret";
const TOKEN = signJwt({ tenant_id: "t1", exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);

interface Welcome {
  type: string;
  websocket_id: string;
  resumed: boolean;
}

/** An HTTP server whose upgrades go to an UpgradeHandler over a memory registry; no gateway server involved. */
async function serve(failpoints: Failpoints = NO_FAILPOINTS) {
  const registry = new MemoryConnectionRegistry();
  const bus = new LocalClusterBus();
  const connections = new ConnectionTable();
  const metrics = new GatewayMetrics(() => new Map(), () => true);
  const common = { instanceId: "gw-1", registry, metrics, failpoints };
  const router = new Router({ ...common, bus, connections, remoteAckTimeoutMs: 1_000 });
  const writer = new RegistryWriter({ ...common, connectionTtlMs: 30_000 });
  const frames = new FrameHandler({ maxMessageBytes: 1_024, rateLimitPerSec: 100, rateLimitBurst: 100, registry, router, metrics });
  const wss = new WebSocketServer({ noServer: true, clientTracking: false });
  const state = { accepting: true };
  const handler = new UpgradeHandler({
    ...common,
    authSecret: SECRET,
    rateLimitBurst: 100,
    bus,
    wss,
    connections,
    writer,
    frames,
    accepting: () => state.accepting,
  });
  const http = createServer();
  http.on("upgrade", (req, socket, head) => handler.handle(req, socket, head));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const clients: WebSocket[] = [];
  onTestFinished(async () => {
    for (const client of clients) client.terminate();
    for (const connection of [...connections.values()]) connection.ws.terminate();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  const port = (http.address() as AddressInfo).port;
  /** Opens a client; resolves with its welcome, or with the HTTP status it was refused with. */
  const connect = (query: string) =>
    new Promise<{ ws: WebSocket; welcome?: Welcome; status?: number }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?${query}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      clients.push(ws);
      ws.once("message", (data) => resolve({ ws, welcome: JSON.parse(String(data)) as Welcome }));
      ws.once("unexpected-response", (_req, res) => resolve({ ws, status: res.statusCode }));
      ws.once("error", reject);
    });
  return { registry, connections, writer, metrics, state, handler, connect, port };
}

const QUERY = "session_id=s1&agent_type=a&pillar=p";

/**
 * Clients in a process of their own (so that only the gateway's side of a close runs in this one): argv url, token,
 * count, "close" | "terminate". Prints `open` once every client has its welcome, then on a line from stdin has every
 * client leave that way and exits once all have closed.
 */
const CLIENTS = `
const { WebSocket } = require(process.argv[1]);
const [url, token, count, mode] = process.argv.slice(2);
const sockets = Array.from({ length: Number(count) }, () => new WebSocket(url, { headers: { authorization: "Bearer " + token } }));
let closed = 0;
for (const ws of sockets) ws.once("close", () => ++closed === sockets.length && process.exit(0));
Promise.all(sockets.map((ws) => new Promise((resolve, reject) => { ws.once("message", resolve); ws.once("error", reject); }))).then(() => {
  process.stdout.write("open\\n");
  process.stdin.once("data", () => { for (const ws of sockets) mode === "close" ? ws.close() : ws.terminate(); });
}, (error) => { console.error(error); process.exit(1); });
`;

/**
 * Counts, from now until `stop()`, the `end()` calls that reach Node's own `end()` of sockets and of other Writables
 * (ws's frame receivers) on a stream already ended: each such call builds an error (`ERR_STREAM_ALREADY_FINISHED`) and
 * drops it when no callback is given.
 */
function countRedundantEnds(): { stop: () => number } {
  const patched = [Socket.prototype, Writable.prototype] as { end: (...args: unknown[]) => unknown }[];
  const originals = patched.map((prototype) => prototype.end);
  let redundant = 0;
  patched.forEach((prototype, i) => {
    const end = originals[i]!;
    prototype.end = function (this: Writable, ...args: unknown[]) {
      if (this.writableEnded) redundant++;
      return end.apply(this, args);
    };
  });
  return {
    stop: () => {
      patched.forEach((prototype, i) => (prototype.end = originals[i]!));
      return redundant;
    },
  };
}

describe("UpgradeHandler", () => {
  it("should send the welcome only once the record is in the registry, and remove it when the socket closes", async () => {
    const { registry, connections, writer, connect } = await serve();
    const { ws, welcome } = await connect(QUERY);
    expect(welcome).toMatchObject({ type: "welcome", resumed: false });
    // Read at the moment the welcome arrived: the record was written before the 101 and the welcome left.
    expect(await registry.getConnection("t1", "s1", welcome!.websocket_id)).toMatchObject({ instance_id: "gw-1", agent_type: "a" });
    expect(connections.size).toBe(1);
    ws.close();
    await expect.poll(() => connections.size).toBe(0);
    await writer.settled();
    expect(await registry.getSessionConnections("t1", "s1")).toEqual([]);
  });

  it("should resume an id into its own session, evicting the older socket, and refuse while not accepting", async () => {
    const { registry, connections, state, metrics, connect } = await serve();
    const first = await connect(QUERY);
    const evicted = new Promise<number>((resolve) => first.ws.once("close", resolve));
    const second = await connect(`${QUERY}&websocket_id=${first.welcome!.websocket_id}`);
    expect(second.welcome).toMatchObject({ websocket_id: first.welcome!.websocket_id, resumed: true });
    expect(await evicted).toBe(CLOSE_CODES.RESUMED_ELSEWHERE);
    expect(connections.size).toBe(1);
    expect((await registry.getSessionConnections("t1", "s1")).map((record) => record.websocket_id)).toEqual([first.welcome!.websocket_id]);
    expect(metrics.registrations.get({ kind: "resume" })).toBe(1);

    state.accepting = false;
    expect((await connect(QUERY)).status).toBe(503);
    expect(metrics.upgradesRefused.get({ status: "503" })).toBe(1);
  });

  it("should hand out a new id instead of resuming under the no-resume failpoint", async () => {
    const { connect } = await serve(createFailpoints(["no-resume"]));
    const first = await connect(QUERY);
    const second = await connect(`${QUERY}&websocket_id=${first.welcome!.websocket_id}`);
    expect(second.welcome!.resumed).toBe(false);
    expect(second.welcome!.websocket_id).not.toBe(first.welcome!.websocket_id);
  });

  it.each([
    { failpoints: NO_FAILPOINTS, name: "no failpoint", kept: { close: false, terminate: false } },
    { failpoints: createFailpoints(["no-unregister-on-terminate"]), name: "no-unregister-on-terminate", kept: { close: false, terminate: true } },
  ])("should remove the record of a socket closed with or without a close frame ($name)", async ({ failpoints, kept }) => {
    const { registry, connections, writer, connect } = await serve(failpoints);
    const closed = await connect("session_id=s1&agent_type=a&pillar=p");
    const terminated = await connect("session_id=s2&agent_type=a&pillar=p");
    closed.ws.close();
    // No close frame: the socket is destroyed, the gateway sees the TCP close (ws reports 1006).
    terminated.ws.terminate();
    await expect.poll(() => connections.size).toBe(0);
    await writer.settled();
    expect((await registry.getSessionConnections("t1", "s1")).length > 0).toBe(kept.close);
    expect((await registry.getSessionConnections("t1", "s2")).length > 0).toBe(kept.terminate);
  });

  it.each(["close", "terminate"])("should let clients leave (%s) without Node building errors that nobody sees", async (mode) => {
    const { connections, port } = await serve();
    const count = 20;
    const wsModule = createRequire(import.meta.url).resolve("ws");
    const child = spawn(process.execPath, ["-e", CLIENTS, wsModule, `ws://127.0.0.1:${port}/ws?${QUERY}`, TOKEN, String(count), mode], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    onTestFinished(() => void child.kill("SIGKILL"));
    const exited = once(child, "exit");
    const opened = once(createInterface({ input: child.stdout! }), "line") as Promise<[string]>;
    const failed = exited.then(([code]) => Promise.reject(new Error(`the clients exited with ${String(code)} before all had their welcome`)));
    const [line] = await Promise.race([opened, failed]);
    expect(line).toBe("open");
    expect(connections.size).toBe(count);
    const redundantEnds = countRedundantEnds();
    try {
      child.stdin!.write("go\n");
      await expect.poll(() => connections.size).toBe(0);
      expect(await exited).toEqual([0, null]);
    } finally {
      // ws ends a socket's receiver up to three times and the socket twice: without redundant-end.ts, three errors
      // per client that closes and one per client that terminates.
      expect(redundantEnds.stop()).toBe(0);
    }
  });
});
