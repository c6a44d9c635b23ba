/**
 * Parsers of the gateway's Redis addresses (`REDIS_SENTINELS`, `REDIS_NAT_MAP`), apart from the client so that
 * the gateway's options can validate them without loading ioredis.
 */
import { RegistryArgumentError } from "../errors.js";

/** A Redis node address. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * Parses a comma list of `host:port` addresses (the gateway's `REDIS_SENTINELS`). Throws
 * {@link RegistryArgumentError} naming `variable` and the bad part.
 */
export function parseRedisAddresses(list: string, variable = "REDIS_SENTINELS"): RedisNodeAddress[] {
  const parts = list.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length === 0) throw new RegistryArgumentError(`${variable} is empty: use host:port[,host:port...]`);
  return parts.map((part) => parseAddress(part, variable));
}

function parseAddress(part: string, variable: string): RedisNodeAddress {
  const match = /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(part);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65_535) throw new RegistryArgumentError(`${variable} part ${JSON.stringify(part)} is not host:port with a port in 1..65535`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * Parses the gateway's `REDIS_NAT_MAP`: a comma list of `announced_host:port=host:port` pairs, each the address a
 * Redis node announces and the address to reach it at instead. Throws {@link RegistryArgumentError} naming the
 * bad pair.
 */
export function parseNatMap(list: string): Record<string, RedisNodeAddress> {
  const map: Record<string, RedisNodeAddress> = {};
  for (const pair of list.split(",").map((part) => part.trim()).filter((part) => part.length > 0)) {
    const [from, to, extra] = pair.split("=");
    if (from === undefined || to === undefined || extra !== undefined) throw new RegistryArgumentError(`REDIS_NAT_MAP pair ${JSON.stringify(pair)} is not announced_host:port=host:port`);
    const announced = parseAddress(from.trim(), "REDIS_NAT_MAP");
    map[`${announced.host}:${announced.port}`] = parseAddress(to.trim(), "REDIS_NAT_MAP");
  }
  return map;
}
