import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { onTestFinished } from "vitest";

/**
 * A TCP relay on 127.0.0.1 in front of `upstream` that can silence the connections it carries: from then on it drops
 * whatever either side of them sends, and keeps both sockets open, while connections opened later pass. That is
 * what a NAT or stateful firewall that forgot its flows does to a client and its server (no reset, no answer).
 */
export interface SilencingRelay {
  /** `host:port` to connect to instead of the upstream. */
  readonly listen: string;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /**
   * Silences every connection open now, or those whose client's port (its socket's `localPort`) `fromPort` accepts;
   * returns how many.
   */
  silenceOpen(fromPort?: (port: number) => boolean): number;
}

/** Starts a {@link SilencingRelay} for one test; everything it opened is closed when the test finishes. */
export async function useSilencingRelay(upstream: { host: string; port: number }): Promise<SilencingRelay> {
  const pairs = new Set<{ client: Socket; server: Socket; silenced: boolean }>();
  let accepted = 0;
  const relay = createServer((client) => {
    accepted++;
    const server = connect(upstream.port, upstream.host);
    const pair = { client, server, silenced: false };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) => from.on("data", (chunk: Buffer) => void (pair.silenced || to.write(chunk)));
    forward(client, server);
    forward(server, client);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    // A silenced pair forwards no end either (the far side must not learn of it) and stays until the test ends.
    for (const socket of [client, server]) {
      socket.on("error", () => undefined);
      socket.on("close", () => void (pair.silenced || close()));
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  onTestFinished(async () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });
  const { port } = relay.address() as AddressInfo;
  return {
    listen: `127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    silenceOpen(fromPort) {
      let silenced = 0;
      for (const pair of pairs) {
        if (pair.silenced || (fromPort && !fromPort(pair.client.remotePort ?? 0))) continue;
        pair.silenced = true;
        silenced++;
      }
      return silenced;
    },
  };
}
