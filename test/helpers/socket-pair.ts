import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";
import { WebSocket, WebSocketServer } from "ws";

/** Both ends of one real WebSocket over 127.0.0.1. */
export interface SocketPair {
  /** The server end, as a gateway holds it. */
  server: WebSocket;
  /** The client end. */
  client: WebSocket;
  /** Every text frame the client received, parsed as JSON. */
  received: unknown[];
}

/**
 * Starts a real WebSocket server on a free port for one test and returns a function that opens socket pairs on it.
 * Everything is closed when the test finishes.
 */
export async function useSocketPairs(): Promise<() => Promise<SocketPair>> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  const clients: WebSocket[] = [];
  onTestFinished(async () => {
    for (const client of clients) client.terminate();
    for (const socket of wss.clients) socket.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return async () => {
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    clients.push(client);
    const received: unknown[] = [];
    client.on("message", (data) => received.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => {
      client.once("open", () => resolve());
      client.once("error", reject);
    });
    return { server: await accepted, client, received };
  };
}
