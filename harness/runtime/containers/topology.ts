/**
 * The one description of the container topology: Redis and the proxy on a `store` network; N gateways on an
 * `edge` network (which carries their published ports) and also on the `store` network (which carries their
 * Redis traffic, through one proxy each). `ContainerRuntime` starts it; `docker-compose.yml` is generated from
 * it (`compose.ts`), so the two cannot drift.
 *
 * A network partition disconnects a gateway from the `store` network only: clients keep reaching it on its
 * published port while its Redis connection goes silent. That holds because Docker maps published ports to the
 * address on the container's gateway network, which (between two equal bridge networks) is the one whose name
 * sorts first: `...-edge` sorts before `...-store`. Named the other way round, a disconnect would cut every
 * client connection too (measured on Docker 20.10: the DNAT rule pointed at the Redis-side address).
 */
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
  /** Port inside the container that is published on 127.0.0.1. */
  containerPort: number;
  /** HTTP readiness path, when the service has one. */
  readyPath?: string;
}

/** The whole topology. */
export interface TopologySpec {
  services: ServiceSpec[];
  proxies: ProxySpec[];
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
}

/** Instance ids `gw-1` .. `gw-N`. */
export function instanceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `gw-${i + 1}`);
}

/** Builds the topology description; pure data, no Docker calls. */
export function describeContainerTopology(options: TopologySpecOptions): TopologySpec {
  const { redis, toxiproxy } = options.hostnames;
  const prefix = options.proxyPrefix ? `${options.proxyPrefix}-` : "";
  const proxies: ProxySpec[] = instanceIds(options.instances).map((id, i) => ({
    name: `${prefix}${id}-redis`,
    listen: `0.0.0.0:${CONTAINER_PORTS.proxyBase + i + 1}`,
    upstream: `${redis}:${CONTAINER_PORTS.redis}`,
    instance: id,
  }));
  const services: ServiceSpec[] = [
    { key: "redis", role: "redis", image: IMAGES.redis, hostname: redis, env: {}, networks: ["store"], containerPort: CONTAINER_PORTS.redis },
    {
      key: "toxiproxy",
      role: "toxiproxy",
      image: options.toxiproxyImage ?? IMAGES.toxiproxy,
      hostname: toxiproxy,
      ...(options.toxiproxyCommand ? { command: options.toxiproxyCommand } : {}),
      env: {},
      networks: ["store"],
      containerPort: CONTAINER_PORTS.toxiproxyApi,
    },
    ...proxies.map(
      (proxy): ServiceSpec => ({
        key: proxy.instance,
        role: "gateway",
        image: IMAGES.gateway,
        hostname: proxy.instance,
        env: {
          PORT: String(CONTAINER_PORTS.gateway),
          HOST: "0.0.0.0",
          REDIS_URL: `redis://${toxiproxy}:${proxy.listen.slice(proxy.listen.lastIndexOf(":") + 1)}`,
          INSTANCE_ID: proxy.instance,
          ...options.gatewayEnv,
        },
        networks: ["edge", "store"],
        containerPort: CONTAINER_PORTS.gateway,
        readyPath: options.readyPath ?? "/readyz",
      }),
    ),
  ];
  return { services, proxies };
}
