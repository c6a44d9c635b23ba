/**
 * Listen and upstream addresses as Go's `net` package treats them: `host:port` split at the last colon, IPv6 in
 * brackets, hostnames resolved preferring IPv4 (so `localhost:P` is `127.0.0.1:P`), printed as Go prints a TCPAddr.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { ApiError } from "./api-error.js";

/** A `host:port` split into its parts; `host` has no brackets and may be empty (all interfaces). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A listen address resolved to an IP: what to bind and how Go would print it before binding. */
export interface ResolvedListen {
  /** IP to bind; `""` means every interface. */
  readonly ip: string;
  readonly port: number;
  /** Go's `TCPAddr.String()` of the resolved address, e.g. `127.0.0.1:0` or `:8080`. */
  readonly text: string;
}

function listenError(message: string): ApiError {
  return new ApiError(`listen tcp: ${message}`, 500);
}

/**
 * Splits `address` like Go's `net.SplitHostPort` plus port parsing. Throws with Go's wording (`missing port in
 * address`, `unknown port`, `invalid port`) as a 500 ApiError prefixed `listen tcp:`.
 */
export function splitHostPort(address: string): HostPort {
  let host: string;
  let portText: string;
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    if (close < 0) throw listenError(`address ${address}: missing ']' in address`);
    host = address.slice(1, close);
    const rest = address.slice(close + 1);
    if (rest === "") throw listenError(`address ${address}: missing port in address`);
    if (!rest.startsWith(":")) throw listenError(`address ${address}: unexpected ']' in address`);
    portText = rest.slice(1);
  } else {
    const colon = address.lastIndexOf(":");
    if (colon < 0) throw listenError(`address ${address}: missing port in address`);
    host = address.slice(0, colon);
    if (host.includes(":")) throw listenError(`address ${address}: too many colons in address`);
    portText = address.slice(colon + 1);
  }
  let port = 0;
  if (portText !== "") {
    if (!/^[0-9]+$/.test(portText)) throw listenError(`lookup tcp/${portText}: unknown port`);
    port = Number(portText);
    if (port > 65_535) throw listenError(`address ${portText}: invalid port`);
  }
  return { host, port };
}

/** Prints an IP and port as Go's `TCPAddr.String()` does: IPv6 in brackets, an empty IP as `:port`. */
export function formatHostPort(ip: string, port: number): string {
  if (ip === "") return `:${port}`;
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Resolves a proxy's `listen` string without binding, like `net.ResolveTCPAddr("tcp", listen)`: hostnames become
 * an IP (IPv4 first). An empty string means every interface on a random port. Throws a 500 ApiError with Go's
 * wording when the address is malformed or the host does not resolve.
 */
export async function resolveListen(listen: string): Promise<ResolvedListen> {
  if (listen === "") return { ip: "", port: 0, text: ":0" };
  const { host, port } = splitHostPort(listen);
  let ip = host;
  if (host !== "" && isIP(host) === 0) {
    try {
      ip = await resolveHost(host);
    } catch (error) {
      throw new ApiError(`listen tcp: lookup ${host}: no such host`, 500, { cause: error });
    }
  }
  return { ip, port, text: formatHostPort(ip, port) };
}

/** Resolves a hostname to one IP, preferring IPv4 as Go does for "tcp". */
export async function resolveHost(host: string): Promise<string> {
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return (await lookup(host)).address;
  }
}

/** True when `ip` means every interface (Go prints the bound listener as `[::]:P`). */
export function isWildcard(ip: string): boolean {
  return ip === "" || ip === "0.0.0.0" || ip === "::";
}
