/**
 * Renders `docker-compose.yml` (and the proxy list it mounts) from the same topology description the containers
 * runtime starts (`topology.ts`). `npx tsx harness/runtime/containers/write-compose.ts` rewrites both files; a
 * test asserts that the committed files equal what this module renders.
 */
import { CONTAINER_PORTS, IMAGES } from "./images.js";
import { describeContainerTopology, type ServiceSpec, type TopologySpec } from "./topology.js";

/** Paths of the generated files, relative to the repository root. */
export const COMPOSE_FILES = Object.freeze({ compose: "docker-compose.yml", proxies: "docker/compose/toxiproxy.json" });

/** Host ports the compose topology publishes on 127.0.0.1 (away from the usual 6379/8474 a machine may already use). */
export const COMPOSE_HOST_PORTS = Object.freeze({ redis: 16_379, toxiproxy: 18_474, firstGateway: 18_081 });

const COMPOSE_INSTANCES = 3;
const PROXY_CONFIG_PATH = "/etc/traffic-cop/toxiproxy.json";

/** The topology compose starts: three gateways, service names as host names, settings and gateway image overridable from the shell. */
export function composeTopology(): TopologySpec {
  return describeContainerTopology({
    instances: COMPOSE_INSTANCES,
    hostnames: { redis: "redis", toxiproxy: "toxiproxy" },
    toxiproxyCommand: ["--host", "0.0.0.0", "--port", String(CONTAINER_PORTS.toxiproxyApi), "--config", PROXY_CONFIG_PATH],
    // A gateway image of one's own, as a `--sut` definition's `image` is on the containers runtime.
    gatewayImage: `\${GATEWAY_IMAGE:-${IMAGES.gateway}}`,
    gatewayEnv: {
      AUTH_SECRET: "${AUTH_SECRET:-traffic-cop-compose-secret}",
      CONNECTION_TTL_MS: "${CONNECTION_TTL_MS:-30000}",
      HEARTBEAT_INTERVAL_MS: "${HEARTBEAT_INTERVAL_MS:-10000}",
      DRAIN_TIMEOUT_MS: "${DRAIN_TIMEOUT_MS:-10000}",
      REGISTRY: "${REGISTRY:-redis}",
    },
  });
}

function hostPort(service: ServiceSpec, index: number): number {
  if (service.role === "redis") return COMPOSE_HOST_PORTS.redis;
  if (service.role === "toxiproxy") return COMPOSE_HOST_PORTS.toxiproxy;
  return COMPOSE_HOST_PORTS.firstGateway + index;
}

/** A YAML scalar in double quotes (JSON string syntax is valid YAML). */
const q = (value: string): string => JSON.stringify(value);

/** The text of `docker-compose.yml`. */
export function renderCompose(topology: TopologySpec = composeTopology()): string {
  const lines = [
    `# Generated from harness/runtime/containers/topology.ts by harness/runtime/containers/write-compose.ts: do not edit.`,
    `# Build the images first (npm run images), then: docker-compose up (or docker compose up).`,
    `# Redis, the Toxiproxy-compatible server and three gateways that reach Redis through it, ports on 127.0.0.1 only:`,
    `# gateways ${COMPOSE_HOST_PORTS.firstGateway}-${COMPOSE_HOST_PORTS.firstGateway + COMPOSE_INSTANCES - 1}, Redis ${COMPOSE_HOST_PORTS.redis} (direct), Toxiproxy API ${COMPOSE_HOST_PORTS.toxiproxy}.`,
    `version: "3.8"`,
    `services:`,
  ];
  let gatewayIndex = 0;
  for (const service of topology.services) {
    const index = service.role === "gateway" ? gatewayIndex++ : 0;
    lines.push(`  ${service.key}:`, `    image: ${q(service.image)}`);
    if (service.command) lines.push(`    command: [${service.command.map(q).join(", ")}]`);
    const env = Object.entries(service.env);
    if (env.length > 0) {
      lines.push(`    environment:`);
      for (const [key, value] of env) lines.push(`      ${key}: ${q(value)}`);
    }
    if (service.role === "toxiproxy") lines.push(`    volumes:`, `      - ${q(`./${COMPOSE_FILES.proxies}:${PROXY_CONFIG_PATH}:ro`)}`);
    if (service.role === "gateway") lines.push(`    depends_on: [redis, toxiproxy]`, `    stop_grace_period: 15s`);
    lines.push(`    ports:`, `      - ${q(`127.0.0.1:${hostPort(service, index)}:${service.containerPort}`)}`);
    lines.push(`    networks: [${service.networks.join(", ")}]`);
  }
  lines.push(`networks:`, `  edge: {}`, `  store: {}`, ``);
  return lines.join("\n");
}

/** The proxy list the compose proxy loads at start (Toxiproxy's `-config` / `--config` format). */
export function renderComposeProxies(topology: TopologySpec = composeTopology()): string {
  return `${JSON.stringify(
    topology.proxies.map((proxy) => ({ name: proxy.name, listen: proxy.listen, upstream: proxy.upstream, enabled: true })),
    null,
    2,
  )}\n`;
}
