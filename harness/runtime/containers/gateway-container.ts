import { constants } from "node:os";
import type Dockerode from "dockerode";
import type { ContainerRuntimeClient } from "testcontainers";
import { createLogger } from "../../common/logger.js";
import { HarnessError } from "../../errors.js";
import type { GatewayProcessState, ProcessExit } from "../gateway-process.js";
import { attachOutput, httpReadyWait, PublishedContainer, waitForPublished } from "./published-container.js";
import type { ServiceSpec } from "./topology.js";

const OUTPUT_TAIL_LINES = 40;
const KILL_GRACE_MS = 5_000;

/** Options of {@link GatewayContainer}. */
export interface GatewayContainerOptions {
  client: ContainerRuntimeClient;
  service: ServiceSpec;
  /** Container name (unique per run). */
  name: string;
  /** Network names: the edge one carries the published port, the store one the Redis traffic. */
  networks: { edge: string; store: string };
  /** Address and port the gateway's port is published on. */
  host: string;
  hostPort: number;
  labels: Record<string, string>;
  startupTimeoutMs: number;
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
  onStateChange?: (state: GatewayProcessState, exit?: ProcessExit, pid?: number) => void;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** Docker reports a process ended by signal N as exit code 128 + N; give it back as the signal, as a process exit does. */
function toProcessExit(statusCode: number, expected: boolean): ProcessExit {
  const signal = statusCode > 128 ? SIGNAL_NAMES.get(statusCode - 128) : undefined;
  return signal ? { code: null, signal, expected } : { code: statusCode, signal: null, expected };
}

/**
 * One gateway instance as one container kept for the whole run: created and first started by testcontainers
 * (ready by an HTTP wait on the readiness path), then killed (`docker kill`), stopped (SIGTERM, SIGKILL after a
 * deadline), started again (same container, so the same published port), paused, and cut off the store network.
 * State machine as {@link GatewayProcessState}; `exited` means it ended without being asked.
 */
export class GatewayContainer {
  readonly instanceId: string;
  readonly hostPort: number;
  readonly #options: GatewayContainerOptions;
  readonly #log;
  readonly #tail: string[] = [];
  #state: GatewayProcessState = "idle";
  #container?: Dockerode.Container;
  #exit?: Promise<ProcessExit>;
  #exitInfo?: ProcessExit;
  #expectExit = false;
  #pid?: number;
  #disconnected = false;
  #generation = 0;

  constructor(options: GatewayContainerOptions) {
    this.#options = options;
    this.instanceId = options.service.key;
    this.hostPort = options.hostPort;
    this.#log = createLogger(`harness:gateway:${this.instanceId}`);
  }

  get state(): GatewayProcessState {
    return this.#state;
  }

  /** Host pid of the container's main process while it runs. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** How many times it has been started. */
  get generation(): number {
    return this.#generation;
  }

  /** Container id, once created. */
  get containerId(): string | undefined {
    return this.#container?.id;
  }

  /** Whether it is cut off the store network by {@link disconnect}. */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  /** The last lines of output (for error messages). */
  get outputTail(): string {
    return this.#tail.join("\n");
  }

  #setState(state: GatewayProcessState, exit?: ProcessExit): void {
    this.#state = state;
    this.#log(`state ${state}`, exit ? { ...exit } : undefined);
    this.#options.onStateChange?.(state, exit, this.#pid);
  }

  #onLine = (line: string, stream: "stdout" | "stderr"): void => {
    this.#tail.push(line);
    if (this.#tail.length > OUTPUT_TAIL_LINES) this.#tail.shift();
    this.#log(line, { stream });
    this.#options.onOutput?.(line, stream);
  };

  #wait() {
    const { service, startupTimeoutMs } = this.#options;
    return httpReadyWait(service.readyPath ?? "/readyz", service.containerPort, startupTimeoutMs);
  }

  /** Creates the container (edge network, then store network), starts it and waits until it is ready. */
  async create(): Promise<void> {
    const { client, service, networks, host, hostPort, labels, name } = this.#options;
    this.#setState("starting");
    const container = new PublishedContainer(service.image)
      .withName(name)
      .withLabels(labels)
      .withEnvironment(service.env)
      .withNetworkMode(networks.edge)
      .withPublishedPort(service.containerPort, host, hostPort)
      .withWaitStrategy(this.#wait())
      .withCreatedHook(async (id) => {
        const created = client.container.getById(id);
        await client.container.dockerode.getNetwork(networks.store).connect({ Container: id });
        await attachOutput(created, this.#onLine);
      });
    try {
      const started = await container.start();
      this.#container = client.container.getById(started.getId());
    } catch (error) {
      this.#setState("start_failure");
      throw new HarnessError("HARNESS_ERR_INSTANCE_START_TIMEOUT", `instance ${this.instanceId} (container ${name}) not ready within ${this.#options.startupTimeoutMs}ms on ${host}:${hostPort}${service.readyPath ?? "/readyz"}: ${(error as Error).message}\n${this.outputTail}`, { cause: error });
    }
    await this.#afterStart();
  }

  async #afterStart(): Promise<void> {
    const container = this.#container!;
    this.#generation++;
    this.#expectExit = false;
    this.#exitInfo = undefined;
    const info = await container.inspect();
    this.#pid = info.State.Pid || undefined;
    this.#exit = this.#watchExit(container);
    if (!info.State.Running) {
      await this.#exit;
      throw new HarnessError("HARNESS_ERR_PROCESS_EXITED", `instance ${this.instanceId} exited right after it was ready:\n${this.outputTail}`);
    }
    this.#setState("started");
  }

  #watchExit(container: Dockerode.Container): Promise<ProcessExit> {
    return container.wait().then(
      (result: { StatusCode: number }) => {
        const exit = toProcessExit(result.StatusCode, this.#expectExit);
        this.#exitInfo = exit;
        this.#pid = undefined;
        if (this.#state === "started" || this.#state === "paused") this.#setState("exited", exit);
        return exit;
      },
      // The container was removed (teardown): there is no exit status to report.
      () => ({ code: null, signal: "SIGKILL" as NodeJS.Signals, expected: true }),
    );
  }

  /** Starts the stopped or killed container again (same container: same published port) and waits until it is ready. */
  async start(): Promise<void> {
    const container = this.#requireContainer();
    if (this.#state === "started" || this.#state === "starting" || this.#state === "stopping") {
      throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${this.instanceId} is ${this.#state}; stop or kill it before starting it again`);
    }
    this.#setState("starting");
    try {
      await attachOutput(container, this.#onLine);
      await container.start();
      await waitForPublished(container, this.#wait(), this.#options.service.containerPort, this.hostPort);
    } catch (error) {
      this.#setState("start_failure");
      const exited = /exited/i.test((error as Error).message);
      throw new HarnessError(
        exited ? "HARNESS_ERR_PROCESS_EXITED" : "HARNESS_ERR_INSTANCE_START_TIMEOUT",
        `instance ${this.instanceId} not ready after a restart (GET ${this.#options.host}:${this.hostPort}${this.#options.service.readyPath ?? "/readyz"}): ${(error as Error).message}\n${this.outputTail}`,
        { cause: error },
      );
    }
    await this.#afterStart();
  }

  /** SIGKILL (a crash). Resolves with the exit; a container that is not running resolves at once. */
  async kill(): Promise<ProcessExit> {
    return this.#terminate("SIGKILL", KILL_GRACE_MS);
  }

  /** SIGTERM (drain), then SIGKILL after `timeoutMs`. Resolves with the exit. */
  async stop(timeoutMs: number): Promise<ProcessExit> {
    return this.#terminate("SIGTERM", timeoutMs);
  }

  async #terminate(signal: NodeJS.Signals, timeoutMs: number): Promise<ProcessExit> {
    const container = this.#container;
    if (!container || !this.#exit || this.#exitInfo || (this.#state !== "started" && this.#state !== "starting" && this.#state !== "paused")) {
      return this.#exitInfo ?? { code: null, signal: null, expected: true };
    }
    this.#expectExit = true;
    const wasPaused = this.#state === "paused";
    this.#setState("stopping");
    // Docker refuses to signal a paused container: thaw it first (a SIGTERM drain needs it running anyway).
    if (wasPaused) await container.unpause();
    await container.kill({ signal }).catch(() => undefined);
    const escalate = setTimeout(() => void container.kill({ signal: "SIGKILL" }).catch(() => undefined), timeoutMs);
    const exit = await this.#exit;
    clearTimeout(escalate);
    this.#setState("stopped", exit);
    return exit;
  }

  /** Freezes every process of the container (`docker pause`): no socket is closed. Only valid in state `started`. */
  async pause(): Promise<void> {
    if (this.#state !== "started") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot pause ${this.instanceId} in state ${this.#state}; only a started instance can be paused`);
    await this.#requireContainer().pause();
    this.#setState("paused");
  }

  /** Thaws a paused container. Only valid in state `paused`. */
  async resume(): Promise<void> {
    if (this.#state !== "paused") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot resume ${this.instanceId} in state ${this.#state}; only a paused instance can be resumed`);
    await this.#requireContainer().unpause();
    this.#setState("started");
  }

  /** Removes it from the store network (Redis traffic); the edge network, and so its published port, stays. */
  async disconnect(): Promise<void> {
    await this.#options.client.container.dockerode.getNetwork(this.#options.networks.store).disconnect({ Container: this.#requireContainer().id, Force: true });
    this.#disconnected = true;
  }

  /** Joins the store network again. */
  async reconnect(): Promise<void> {
    await this.#options.client.container.dockerode.getNetwork(this.#options.networks.store).connect({ Container: this.#requireContainer().id });
    this.#disconnected = false;
  }

  /** Removes the container whatever its state (teardown). */
  async remove(): Promise<void> {
    const container = this.#container;
    if (!container) return;
    const wasRunning = this.#state === "started" || this.#state === "starting" || this.#state === "paused";
    this.#expectExit = true;
    if (wasRunning) this.#setState("stopping");
    await container.remove({ force: true, v: true });
    if (wasRunning) this.#setState("stopped", { code: null, signal: "SIGKILL", expected: true });
  }

  #requireContainer(): Dockerode.Container {
    if (!this.#container) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${this.instanceId} has no container (its first start failed)`);
    return this.#container;
  }
}
