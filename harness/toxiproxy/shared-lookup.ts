/**
 * The name lookup of the proxies' upstream dials: one lookup in flight per host name, shared by every dial that
 * needs it meanwhile, and its answer kept for {@link ANSWER_TTL_MS}.
 *
 * Node resolves a name with `getaddrinfo` on libuv's thread pool, four threads by default. In a Docker network the
 * name of a container that is down is unknown to Docker's embedded DNS, which then asks the host's resolvers: that
 * takes most of a second (or glibc's 5 s timeout). When the clients of a killed gateway all dial it again through its
 * client proxy, their hundreds of lookups filled the pool and every other proxy's dials waited behind them: measured,
 * 500 lookups of a stopped container's alias took up to 95 s, and a lookup of a live one queued behind them as long;
 * in `chaos --runtime containers --profile release --seed 86`, clients of the killed instance and those dialling
 * live ones alike waited 5 s for a handshake, and 59 of 2,000 were back only after 14 s. Shared, a name costs one
 * thread at a time, and a dead one no longer holds up the others.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from "node:dns";

/** How long a successful answer serves later dials, ms: a container that came back at a new address is found that soon. */
export const ANSWER_TTL_MS = 1_000;

/** The resolver underneath: `dns.lookup` with `all: true`. */
export type ResolveAll = (hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** A `lookup` for `net.connect`: called with `all: true` (Node's default `autoSelectFamily`) or without. */
export type ConnectLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** Creates a shared lookup (one per proxy server). `now` and `resolve` are for tests. */
export function createSharedLookup(resolve: ResolveAll = dnsLookup as ResolveAll, now: () => number = () => performance.now()): ConnectLookup {
  const answers = new Map<string, { addresses: LookupAddress[]; at: number }>();
  const inFlight = new Map<string, ((error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void)[]>();
  return (hostname, options, callback) => {
    const reply = (error: NodeJS.ErrnoException | null, all: LookupAddress[]) => {
      const family = options.family === 4 || options.family === "IPv4" ? 4 : options.family === 6 || options.family === "IPv6" ? 6 : 0;
      const addresses = family === 0 ? all : all.filter((a) => a.family === family);
      if (error) callback(error, options.all ? [] : "");
      else if (addresses.length === 0) callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", hostname }), options.all ? [] : "");
      else if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    const known = answers.get(hostname);
    if (known && now() - known.at < ANSWER_TTL_MS) {
      process.nextTick(reply, null, known.addresses);
      return;
    }
    const waiting = inFlight.get(hostname);
    if (waiting) {
      waiting.push(reply);
      return;
    }
    inFlight.set(hostname, [reply]);
    resolve(hostname, { all: true }, (error, addresses) => {
      const replies = inFlight.get(hostname) ?? [];
      inFlight.delete(hostname);
      if (error) answers.delete(hostname);
      else answers.set(hostname, { addresses, at: now() });
      for (const each of replies) each(error, error ? [] : addresses);
    });
  };
}
