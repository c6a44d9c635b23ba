import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpRequest, requestErrorName } from "./http-request.js";

const servers: Server[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "answered",
    (error: unknown) => requestErrorName(error),
  );
}

describe("httpRequest", () => {
  it("should send the method, headers and body, and answer any status with the whole body", async () => {
    const url = await serve((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        res.statusCode = 503;
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
      });
    });
    const answer = await httpRequest(`${url}/x`, { method: "POST", headers: { authorization: "Bearer t" }, body: "hello", timeoutMs: 2_000 });
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toEqual({ method: "POST", auth: "Bearer t", body: "hello" });
  });

  it("should reject once the deadline passes, a body that never ends included", async () => {
    const silent = await serve(() => undefined);
    expect(await failure(httpRequest(silent, { timeoutMs: 100 }))).toBe("timeout");
    const endless = await serve((_req, res) => res.write("part"));
    expect(await failure(httpRequest(endless, { timeoutMs: 100 }))).toBe("timeout");
  });

  it("should name a refused connection and a connection closed without an answer", async () => {
    const gone = await serve(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await failure(httpRequest(gone, { timeoutMs: 2_000 }))).toBe("ECONNREFUSED");
    const rude = await serve((req) => req.socket.destroy());
    expect(await failure(httpRequest(rude, { timeoutMs: 2_000 }))).toBe("UND_ERR_SOCKET");
  });
});
