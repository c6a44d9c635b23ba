import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import type Dockerode from "dockerode";
import { BoundPorts, GenericContainer, Wait, type WaitStrategy } from "testcontainers";

/** Poll period (and per-request timeout) of the HTTP readiness wait. */
const HTTP_WAIT_INTERVAL_MS = 150;

/**
 * A testcontainers `GenericContainer` whose one port is published on a host address and port the caller picks
 * (testcontainers itself binds every host address), and which can run a hook between create and start (to join
 * a second network, or attach to the output before the first line is printed).
 */
export class PublishedContainer extends GenericContainer {
  #onCreated?: (containerId: string) => Promise<void>;

  /** Publishes `containerPort` on `hostAddress:hostPort` only. */
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
    await this.#onCreated?.(containerId);
  }
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
