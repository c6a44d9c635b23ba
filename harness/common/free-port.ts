import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Lowest port picked: above the well-known and most registered services' ports. */
export const LOWEST_PORT = 10_000;
/** Random ports tried below the ephemeral range before falling back to one the kernel assigns. */
const ATTEMPTS = 20;

/**
 * Ports that `fetch` refuses to connect to ("bad port", https://fetch.spec.whatwg.org/#port-blocking): the harness
 * once probed every server it starts with `fetch`, so a gateway on 10080 never looked ready (a fresh-clone CI run
 * failed on `instance gw-2 not ready after 20000ms (GET http://127.0.0.1:10080/readyz → fetch failed)`). Its probes
 * now use undici's `request`, which has no such list, but `fetch` still reaches servers the harness starts (the
 * Toxiproxy client, the slow-consumer load) and any browser opening them would refuse the same ports. Only 10080
 * lies in the default range; the rest of the spec's list is there for callers' own ranges.
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123,
  135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995,
  1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

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

/** Lanes the default range is split into (ports `lowest + k * LANES + lane`): harness processes running at once each draw from a lane of their own. */
export const PORT_LANES = 16;
/** A range at least this wide is drawn from by lane, skipping the process's recent picks; a narrower one is taken as it is. */
const WIDE_RANGE = 1_000;
/** How many of its latest picks a process does not hand out again (from a wide range). */
const RECENT_PICKS = 256;

let lane: Promise<number | undefined> | undefined;
const recentPicks: number[] = [];

/**
 * This process's port lane, claimed once for its life: the first of {@link PORT_LANES} abstract Unix sockets
 * (`\0traffic-cop-port-lane-N`, Linux only) it can bind. The kernel releases it when the process exits, however it
 * exits, and it leaves nothing on disk. Undefined when every lane is held (more harness processes than lanes) or
 * off Linux: the whole range then.
 */
export function portLane(): Promise<number | undefined> {
  lane ??= (async () => {
    if (process.platform !== "linux") return undefined;
    for (let n = 0; n < PORT_LANES; n++) {
      const server = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(`\0traffic-cop-port-lane-${n}`, () => resolve(true));
      });
      if (bound) {
        server.unref();
        return n;
      }
    }
    return undefined;
  })();
  return lane;
}

/**
 * A free TCP port on `host`, picked at random in `range` (default: from 10000 up to the kernel's ephemeral range).
 * What the harness binds there is re-bound after faults (a proxy disabled and enabled, a gateway or Redis restarted
 * on its port), and a port of the ephemeral range can meanwhile become the local port of any outgoing connection on
 * the machine, which makes the re-bind fail with EADDRINUSE (seen under load: a Toxiproxy enable answered 500).
 * For the same reason a wide range is drawn from by lane ({@link portLane}): while one harness process has a proxy
 * disabled, another one running beside it (parallel test files, a scenario beside a benchmark) never picks the
 * proxy's port for a server of its own, nor for a Redis cluster node's bus (its data port plus 10000, in the same
 * lane), which made an enable answer 500 in a full test run; and within a process, none of its
 * {@link RECENT_PICKS} latest picks is handed out again. Never one of {@link FETCH_BAD_PORTS}. Falls back to a port
 * the kernel assigns (from its ephemeral range, where no bad port lies) when {@link ATTEMPTS} random picks are taken.
 *
 * The port is probed, not held: someone else may take it before the caller binds it, so callers that spawn a
 * server on it retry with a new port when the server reports the address in use.
 */
export async function findFreePort(host = "127.0.0.1", range: { lowest: number; highest: number } = { lowest: LOWEST_PORT, highest: ephemeralRangeStart() - 1 }): Promise<number> {
  const { lowest, highest } = range;
  const wide = highest - lowest + 1 >= WIDE_RANGE;
  const own = wide ? await portLane() : undefined;
  // Ports lowest + offset + k * step, k in [0, count).
  const [offset, step] = own === undefined ? [0, 1] : [(own - (lowest % PORT_LANES) + PORT_LANES) % PORT_LANES, PORT_LANES];
  const count = highest - lowest - offset >= 0 ? Math.floor((highest - lowest - offset) / step) + 1 : 0;
  for (let attempt = 0; attempt < ATTEMPTS && count > 0; attempt++) {
    const candidate = lowest + offset + Math.floor(Math.random() * count) * step;
    if (FETCH_BAD_PORTS.has(candidate)) continue;
    if (wide) {
      // Noted before the probe, so that calls at once do not both hand it out.
      if (recentPicks.includes(candidate)) continue;
      recentPicks.push(candidate);
      if (recentPicks.length > RECENT_PICKS) recentPicks.shift();
    }
    const port = await probe(host, candidate);
    if (port !== undefined) return port;
  }
  return (await probe(host, 0))!;
}
