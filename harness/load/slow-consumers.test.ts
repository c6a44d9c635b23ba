import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { runSlowConsumers } from "./slow-consumers.js";

/**
 * A stand-in for a gateway that welcomes every socket and answers HTTP requests with `answer` (or never, when it
 * returns undefined): what the load does against a system under test that stops answering.
 */
async function fakeGateway(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
  options: { refuseUpgrade?: boolean; firstFrame?: (n: number) => string } = {},
): Promise<{ server: Server; wsUrl: string; httpUrl: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    answer(req, res);
  });
  const wss = new WebSocketServer({ server, ...(options.refuseUpgrade ? { verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => done(false, 401) } : {}) });
  let connections = 0;
  const firstFrame = options.firstFrame ?? (() => JSON.stringify({ type: "welcome", websocket_id: randomUUID() }));
  wss.on("connection", (ws) => ws.send(firstFrame(connections++)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  servers.push({ server, wss });
  return { server, wsUrl: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}`, requests };
}

const servers: { server: Server; wss: WebSocketServer }[] = [];
afterEach(async () => {
  for (const { server, wss } of servers.splice(0)) {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe("runSlowConsumers", () => {
  it("fails as the instance's refusal (HARNESS_ERR_PROBE_REFUSED) when its reader or a stalled client is turned away", async () => {
    const base = { authSecret: "s", consumers: 2, messageBytes: 64, ratePerSecond: 20, durationMs: 300, requestTimeoutMs: 300 };
    const refusing = await fakeGateway((_req, res) => void res.writeHead(200).end("{}"), { refuseUpgrade: true });
    await expect(runSlowConsumers({ ...base, wsUrl: refusing.wsUrl, httpUrl: refusing.httpUrl })).rejects.toMatchObject({ code: "HARNESS_ERR_PROBE_REFUSED", message: expect.stringContaining("401") });
    // The reader (the first connection) is welcomed; the second connection, a stalled client, gets an error frame.
    const erring = await fakeGateway((_req, res) => void res.writeHead(200).end("{}"), {
      firstFrame: (n) => (n === 0 ? JSON.stringify({ type: "welcome", websocket_id: randomUUID() }) : '{"type":"error","code":"UNAUTHORIZED"}'),
    });
    await expect(runSlowConsumers({ ...base, wsUrl: erring.wsUrl, httpUrl: erring.httpUrl })).rejects.toMatchObject({ code: "HARNESS_ERR_PROBE_REFUSED", message: expect.stringContaining("UNAUTHORIZED") });
  });

  it("ends by itself against a gateway that never answers over HTTP, and counts its routes as failed", async () => {
    const gateway = await fakeGateway(() => undefined);
    const started = Date.now();
    const stats = await runSlowConsumers({ wsUrl: gateway.wsUrl, httpUrl: gateway.httpUrl, authSecret: "s", consumers: 2, messageBytes: 64, ratePerSecond: 20, durationMs: 400, requestTimeoutMs: 300 });
    // The sending window, then at most one request timeout for the last routes and one for the final sample.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stats.routes_acked).toBe(0);
    expect(stats.route_errors).toBeGreaterThan(0);
    expect(stats.route_errors).toBe(gateway.requests.filter((r) => r.startsWith("POST ")).length);
    expect(stats.gateway).toMatchObject({ send_buffer_max_bytes: 0, slow_consumers_total: null });
  });

  it("counts a route answered with an error status as failed, and one answered 200 as acknowledged", async () => {
    let n = 0;
    const gateway = await fakeGateway((req, res) => {
      if (req.url === "/metrics") return void res.writeHead(200).end("traffic_cop_slow_consumers_total 3\n");
      // A lookup answered with something that is not JSON: the sample goes on without it.
      if (req.method !== "POST") return void res.writeHead(200).end("not json");
      n++;
      if (n % 2 === 0) return void res.writeHead(503).end('{"code":"REGISTRY_UNAVAILABLE"}');
      // Delivered to every socket (the reader keeps reading), then acknowledged.
      for (const client of servers[0]!.wss.clients) client.send(JSON.stringify({ type: "message", id: `m${n}`, payload: "x" }));
      res.writeHead(200).end(JSON.stringify({ id: `m${n}`, delivered: 1 }));
    });
    const stats = await runSlowConsumers({ wsUrl: gateway.wsUrl, httpUrl: gateway.httpUrl, authSecret: "s", consumers: 1, messageBytes: 64, ratePerSecond: 20, durationMs: 300, requestTimeoutMs: 2_000 });
    expect(stats.routes_acked + stats.route_errors).toBe(n);
    expect(stats.routes_acked).toBe(Math.ceil(n / 2));
    expect(stats.route_errors).toBe(Math.floor(n / 2));
    expect(stats.gateway.slow_consumers_total).toBe(3);
    expect(stats.reader).toMatchObject({ lost: 0, duplicates: 0, received: stats.routes_acked });
  });
});
