import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import type Dockerode from "dockerode";
import { BoundPorts, GenericContainer, getContainerRuntimeClient, Wait, type WaitStrategy } from "testcontainers";

/** Poll period (and per-request timeout) of the HTTP readiness wait. */
const HTTP_WAIT_INTERVAL_MS = 150;

/** A network a container joins, with the names it has on that network only. */
export interface NetworkJoin {
  name: string;
  /** Docker network aliases, resolvable by the other containers of that network only. @default none */
  aliases?: readonly string[];
}

/**
 * A testcontainers `GenericContainer` whose ports are published on a host address and ports the caller picks
 * (testcontainers itself binds every host address), which can be on several networks with aliases scoped to one
 * of them, and which can run a hook between create and start (to attach to the output before the first line is
 * printed).
 */
export class PublishedContainer extends GenericContainer {
  #onCreated?: (containerId: string) => Promise<void>;
  #laterNetworks: NetworkJoin[] = [];

  /**
   * Creates the container on the first network and joins the others before it starts, each with its aliases.
   * (testcontainers' own `withNetworkAliases` creates the container on Docker's default bridge and then connects
   * it, which would add a third network whose name sorts first and so carries the published ports.)
   */
  withNetworks(networks: readonly NetworkJoin[]): this {
    const [first, ...later] = networks;
    if (!first) throw new TypeError("a container needs at least one network");
    this.withNetworkMode(first.name);
    if (first.aliases?.length) this.createOpts.NetworkingConfig = { EndpointsConfig: { [first.name]: { Aliases: [...first.aliases] } } };
    this.#laterNetworks = later;
    return this;
  }

  /** Publishes `containerPort` on `hostAddress:hostPort` only (call once per port). */
  withPublishedPort(containerPort: number, hostAddress: string, hostPort: number): this {
    this.withExposedPorts({ container: containerPort, host: hostPort });
    this.hostConfig.PortBindings = { ...this.hostConfig.PortBindings, [`${containerPort}/tcp`]: [{ HostIp: hostAddress, HostPort: String(hostPort) }] };
    return this;
  }

  /** Runs `hook` after the container is created and before it starts. */
  withCreatedHook(hook: (containerId: string) => Promise<void>): this {
    this.#onCreated = hook;
    return this;
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    if (this.#laterNetworks.length > 0) {
      const { dockerode } = (await getContainerRuntimeClient()).container;
      for (const network of this.#laterNetworks) await joinNetwork(dockerode, network, containerId);
    }
    await this.#onCreated?.(containerId);
  }
}

/** Connects a container to a network, with its aliases there and, when given, the address it had there before. */
export async function joinNetwork(dockerode: Dockerode, network: NetworkJoin, containerId: string, ipv4Address?: string): Promise<void> {
  const endpoint = {
    ...(network.aliases?.length ? { Aliases: [...network.aliases] } : {}),
    ...(ipv4Address ? { IPAMConfig: { IPv4Address: ipv4Address } } : {}),
  };
  await dockerode.getNetwork(network.name).connect({ Container: containerId, ...(Object.keys(endpoint).length > 0 ? { EndpointConfig: endpoint } : {}) });
}

/** A readiness wait on an HTTP path answering 200; gives up as soon as the container exits. */
export function httpReadyWait(path: string, containerPort: number, timeoutMs: number): WaitStrategy {
  return Wait.forHttp(path, containerPort, { abortOnContainerExit: true }).forStatusCode(200).withReadTimeout(HTTP_WAIT_INTERVAL_MS).withStartupTimeout(timeoutMs);
}

/**
 * Runs a wait strategy against an existing container whose `containerPort` is published on `hostPort` (after a
 * restart). Unlike testcontainers' `waitForContainer`, a failed wait leaves the container in place, so the
 * instance can be started again.
 */
export async function waitForPublished(container: Dockerode.Container, wait: WaitStrategy, containerPort: number, hostPort: number): Promise<void> {
  const ports = new BoundPorts();
  ports.setBinding(containerPort, hostPort);
  await wait.waitUntilReady(container, ports);
}

/**
 * Attaches to a container's stdout and stderr (call before it starts, so no line is missed) and calls `onLine`
 * with every line until the container stops.
 */
export async function attachOutput(container: Dockerode.Container, onLine: (line: string, stream: "stdout" | "stderr") => void): Promise<void> {
  const stream = await container.attach({ stream: true, stdout: true, stderr: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  (container.modem as { demuxStream(s: NodeJS.ReadableStream, o: PassThrough, e: PassThrough): void }).demuxStream(stream, stdout, stderr);
  stream.on("end", () => {
    stdout.end();
    stderr.end();
  });
  stream.on("error", () => {
    stdout.end();
    stderr.end();
  });
  createInterface({ input: stdout }).on("line", (line) => onLine(line, "stdout"));
  createInterface({ input: stderr }).on("line", (line) => onLine(line, "stderr"));
}
