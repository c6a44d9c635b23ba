import { createServer } from "node:net";

/**
 * Asks the kernel for a free TCP port on `host` by binding port 0 and closing the listener again.
 * The port may be taken by someone else before the caller binds it, so callers that spawn a server on it
 * retry with a new port when the server reports the address in use.
 */
export async function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no port assigned on ${host}`))));
    });
  });
}
