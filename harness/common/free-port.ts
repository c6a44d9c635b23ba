import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Lowest port picked: above the well-known and most registered services' ports. */
export const LOWEST_PORT = 10_000;
/** Random ports tried below the ephemeral range before falling back to one the kernel assigns. */
const ATTEMPTS = 20;

let ephemeralLow: number | undefined;

/**
 * The first port of the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`; 32768 where it cannot
 * be read). Ports from that range are handed to every outgoing connection of the machine.
 */
export function ephemeralRangeStart(): number {
  if (ephemeralLow === undefined) {
    let low = 32_768;
    try {
      const parsed = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
      if (Number.isInteger(parsed) && parsed > 0) low = parsed;
    } catch {
      // Not Linux, or no /proc: the IANA and Linux default.
    }
    ephemeralLow = low;
  }
  return ephemeralLow;
}

/** Binds `port` on `host` (0: any) and closes again; resolves with the port bound, or undefined when it is taken. */
function probe(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => (port !== 0 && (error.code === "EADDRINUSE" || error.code === "EACCES") ? resolve(undefined) : reject(error)));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : 0;
      server.close(() => (bound > 0 ? resolve(bound) : reject(new Error(`no port assigned on ${host}`))));
    });
  });
}

/** Whether `port` can be bound on `host` now (nothing listens on it and no connection holds it as its local port). */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return (await probe(host, port)) !== undefined;
}

/**
 * A free TCP port on `host`, picked at random in `range` (default: from 10000 up to the kernel's ephemeral range).
 * What the harness binds there is re-bound after faults (a proxy disabled and enabled, a gateway or Redis restarted
 * on its port), and a port of the ephemeral range can meanwhile become the local port of any outgoing connection on
 * the machine, which makes the re-bind fail with EADDRINUSE (seen under load: a Toxiproxy enable answered 500).
 * Falls back to a port the kernel assigns when {@link ATTEMPTS} random picks are taken.
 *
 * The port is probed, not held: someone else may take it before the caller binds it, so callers that spawn a
 * server on it retry with a new port when the server reports the address in use.
 */
export async function findFreePort(host = "127.0.0.1", range: { lowest: number; highest: number } = { lowest: LOWEST_PORT, highest: ephemeralRangeStart() - 1 }): Promise<number> {
  const { lowest, highest } = range;
  if (highest >= lowest) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const port = await probe(host, lowest + Math.floor(Math.random() * (highest - lowest + 1)));
      if (port !== undefined) return port;
    }
  }
  return (await probe(host, 0))!;
}
