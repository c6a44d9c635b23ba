/**
 * The one description of the container topology: Redis and the proxy on a `store` network; N gateways on an
 * `edge` network (which carries their published ports) and also on the `store` network (which carries their
 * Redis traffic, through one proxy each). `ContainerRuntime` starts it; `docker-compose.yml` is generated from
 * it (`compose.ts`), so the two cannot drift.
 *
 * With client proxies (`clientProxies`), the proxy container also joins the `edge` network and holds one more
 * proxy per gateway, published on 127.0.0.1, whose upstream is the gateway's alias on `edge`: the clients' path
 * never crosses `store`, so a network partition leaves it alone. The gateways then reach the proxy for Redis by
 * an alias it has on `store` only: its container name resolves on both networks, and a gateway cut off `store`
 * that resolved it to the `edge` address would reach Redis again around the partition.
 *
 * A network partition disconnects a gateway from the `store` network only: clients keep reaching it on its
 * published port while its Redis connection goes silent. That holds because Docker maps published ports to the
 * address on the container's gateway network, which (between two equal bridge networks) is the one whose name
 * sorts first: `...-edge` sorts before `...-store`. Named the other way round, a disconnect would cut every
 * client connection too (measured on Docker 20.10: the DNAT rule pointed at the Redis-side address).
 */
import { expandVariables } from "../sut.js";
import { CONTAINER_PORTS, IMAGES, type ImageRole } from "./images.js";

/** The two networks of a topology; their names must keep `edge` sorting before `store` (see above). */
export type NetworkKey = "edge" | "store";

/** A proxy between one gateway and Redis, inside the proxy container. */
export interface ProxySpec {
  name: string;
  /** `0.0.0.0:port` inside the proxy container. */
  listen: string;
  /** `redis-host:6379`. */
  upstream: string;
  /** Instance the proxy serves. */
  instance: string;
}

/** One container of the topology. */
export interface ServiceSpec {
  /** `redis`, `toxiproxy`, `gw-1`, ... */
  key: string;
  role: ImageRole;
  image: string;
  /** Name other containers reach it by on its networks (the container name, or the compose service name). */
  hostname: string;
  /** Arguments after the image's entry point; `undefined` keeps the image's default. */
  command?: string[];
  env: Record<string, string>;
  /** Networks, the first one being the one the container is created on (and whose address its published port maps to). */
  networks: NetworkKey[];
  /** Names it has on one network only (Docker network aliases). @default none */
  aliases?: Partial<Record<NetworkKey, string[]>>;
  /** Port inside the container that is published on 127.0.0.1. */
  containerPort: number;
  /** Further ports inside the container published on 127.0.0.1 (the client proxies' listen ports). @default none */
  extraPorts?: number[];
  /** HTTP readiness path, when the service has one. */
  readyPath?: string;
}

/** The whole topology. */
export interface TopologySpec {
  services: ServiceSpec[];
  proxies: ProxySpec[];
  /** One proxy per gateway between the clients and it (empty unless `clientProxies`). */
  clientProxies: ProxySpec[];
}

/** Options of {@link describeContainerTopology}. */
export interface TopologySpecOptions {
  instances: number;
  /** Name of Redis and the proxy on the store network. */
  hostnames: { redis: string; toxiproxy: string };
  /** Prefix of proxy names, e.g. the run id (`<prefix>-gw-1-redis`); none in compose. @default "" */
  proxyPrefix?: string;
  /** The gateway settings every instance gets (AUTH_SECRET, CONNECTION_TTL_MS, ...), after the topology's own. */
  gatewayEnv: Record<string, string>;
  /** Image of the proxy (the compatible one, or the real Toxiproxy). @default IMAGES.toxiproxy */
  toxiproxyImage?: string;
  /** Arguments of the proxy image. @default the compatible server's `--host 0.0.0.0 --port 8474` */
  toxiproxyCommand?: string[];
  /** Readiness path of the gateways. @default "/readyz" */
  readyPath?: string;
  /** Image of the gateways (a `--sut` definition's `image`). @default IMAGES.gateway */
  gatewayImage?: string;
  /**
   * A `--sut` definition's `env`, applied after everything else; its values may name the other variables of the
   * instance as `${NAME}` (`${PORT}`, `${REDIS_URL}`, `${INSTANCE_ID}`, ...). @default {}
   */
  sutEnv?: Readonly<Record<string, string>>;
  /** One proxy in front of each gateway for its clients, in the proxy container (see above). @default false */
  clientProxies?: boolean;
}

/** `env` with `sutEnv` applied after it, each value's `${NAME}` expanded from `env` (as the local runtime does). */
function withSutEnv(env: Record<string, string>, sutEnv: Readonly<Record<string, string>>): Record<string, string> {
  const out = { ...env };
  for (const [key, value] of Object.entries(sutEnv)) out[key] = expandVariables(value, env);
  return out;
}

/** Instance ids `gw-1` .. `gw-N`. */
export function instanceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `gw-${i + 1}`);
}

/** Builds the topology description; pure data, no Docker calls. */
export function describeContainerTopology(options: TopologySpecOptions): TopologySpec {
  const { redis, toxiproxy } = options.hostnames;
  const prefix = options.proxyPrefix ? `${options.proxyPrefix}-` : "";
  const withClients = options.clientProxies ?? false;
  const proxyOnStore = withClients ? `${toxiproxy}-store` : toxiproxy;
  const ids = instanceIds(options.instances);
  const proxies: ProxySpec[] = ids.map((id, i) => ({
    name: `${prefix}${id}-redis`,
    listen: `0.0.0.0:${CONTAINER_PORTS.proxyBase + i + 1}`,
    upstream: `${redis}:${CONTAINER_PORTS.redis}`,
    instance: id,
  }));
  const clientProxies: ProxySpec[] = withClients
    ? ids.map((id, i) => ({ name: `${prefix}${id}-clients`, listen: `0.0.0.0:${CONTAINER_PORTS.clientProxyBase + i + 1}`, upstream: `${id}:${CONTAINER_PORTS.gateway}`, instance: id }))
    : [];
  const port = (proxy: ProxySpec) => Number(proxy.listen.slice(proxy.listen.lastIndexOf(":") + 1));
  const services: ServiceSpec[] = [
    { key: "redis", role: "redis", image: IMAGES.redis, hostname: redis, env: {}, networks: ["store"], containerPort: CONTAINER_PORTS.redis },
    {
      key: "toxiproxy",
      role: "toxiproxy",
      image: options.toxiproxyImage ?? IMAGES.toxiproxy,
      hostname: toxiproxy,
      ...(options.toxiproxyCommand ? { command: options.toxiproxyCommand } : {}),
      env: {},
      networks: withClients ? ["store", "edge"] : ["store"],
      ...(withClients ? { aliases: { store: [proxyOnStore] }, extraPorts: clientProxies.map(port) } : {}),
      containerPort: CONTAINER_PORTS.toxiproxyApi,
    },
    ...proxies.map(
      (proxy): ServiceSpec => ({
        key: proxy.instance,
        role: "gateway",
        image: options.gatewayImage ?? IMAGES.gateway,
        hostname: proxy.instance,
        env: withSutEnv(
          {
            PORT: String(CONTAINER_PORTS.gateway),
            HOST: "0.0.0.0",
            REDIS_URL: `redis://${proxyOnStore}:${port(proxy)}`,
            INSTANCE_ID: proxy.instance,
            ...options.gatewayEnv,
          },
          options.sutEnv ?? {},
        ),
        networks: ["edge", "store"],
        ...(withClients ? { aliases: { edge: [proxy.instance] } } : {}),
        containerPort: CONTAINER_PORTS.gateway,
        readyPath: options.readyPath ?? "/readyz",
      }),
    ),
  ];
  return { services, proxies, clientProxies };
}
