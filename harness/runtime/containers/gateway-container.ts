import { constants } from "node:os";
import type Dockerode from "dockerode";
import type { ContainerRuntimeClient } from "testcontainers";
import { createLogger } from "../../common/logger.js";
import { HarnessError } from "../../errors.js";
import type { GatewayProcessState, ProcessExit } from "../gateway-process.js";
import { attachOutput, httpReadyWait, joinNetwork, PublishedContainer, waitForPublished, type NetworkJoin } from "./published-container.js";
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
  /**
   * Called with the container's main pid whenever its network links are new (each start, each reconnect), before
   * it counts as started again: where the runtime readies them for packet faults (ContainerLinks.segment).
   */
  prepareLinks?: (pid: number) => Promise<void>;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

function envKey(env: Record<string, string>): string {
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`)
    .join("\n");
}

/** Docker reports a process ended by signal N as exit code 128 + N; give it back as the signal, as a process exit does. */
function toProcessExit(statusCode: number, expected: boolean): ProcessExit {
  const signal = statusCode > 128 ? SIGNAL_NAMES.get(statusCode - 128) : undefined;
  return signal ? { code: null, signal, expected } : { code: statusCode, signal: null, expected };
}

/**
 * One gateway instance as one container kept for the whole run: created and first started by testcontainers
 * (ready by an HTTP wait on the readiness path), then killed (`docker kill`), stopped (SIGTERM, SIGKILL after a
 * deadline), started again (same container, so the same published port), paused, and cut off the store network.
 * A start with other extra environment (a skewed clock's `LD_PRELOAD` and `FAKETIME`) replaces the container by a
 * new one of the same name, networks and published port: Docker cannot change a container's environment.
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
  /** Its address on the store network when it was cut off (`disconnect`), to come back at. */
  #storeAddress?: string;
  #generation = 0;
  /** Environment the current container has beyond the service's, as `key=value` lines in key order. */
  #extraEnvKey = "";

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

  #storeJoin(): NetworkJoin {
    return { name: this.#options.networks.store, ...(this.#options.service.aliases?.store ? { aliases: this.#options.service.aliases.store } : {}) };
  }

  /**
   * Creates the container (edge network, then store network unless it is cut off), with `extraEnv` over the
   * service's environment, starts it and waits until it is ready.
   */
  async create(extraEnv: Record<string, string> = {}): Promise<void> {
    const { client, service, networks, host, hostPort, labels, name } = this.#options;
    this.#setState("starting");
    this.#extraEnvKey = envKey(extraEnv);
    const container = new PublishedContainer(service.image)
      .withName(name)
      .withLabels(labels)
      .withEnvironment({ ...service.env, ...extraEnv })
      .withNetworks([{ name: networks.edge, ...(service.aliases?.edge ? { aliases: service.aliases.edge } : {}) }, ...(this.#disconnected ? [] : [this.#storeJoin()])])
      .withPublishedPort(service.containerPort, host, hostPort)
      .withWaitStrategy(this.#wait())
      .withCreatedHook(async (id) => {
        await attachOutput(client.container.getById(id), this.#onLine);
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
    if (this.#pid !== undefined) await this.#options.prepareLinks?.(this.#pid);
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

  /**
   * Starts the stopped or killed container again (same container: same published port) and waits until it is
   * ready. With `extraEnv` other than the current container's, replaces the container first (see the class).
   */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    if (this.#state === "idle") throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${this.instanceId} has no container yet; create() it first`);
    if (this.#state === "started" || this.#state === "starting" || this.#state === "stopping") {
      throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${this.instanceId} is ${this.#state}; stop or kill it before starting it again`);
    }
    const container = this.#container;
    // No container: a replacement failed to start (below); try a new one again.
    if (!container || envKey(extraEnv) !== this.#extraEnvKey) {
      // The stopped container still holds the name and the published port; the new one takes both. Between the
      // two another process could bind the port: the create then fails with the instance in start_failure.
      // A failed replacement may have left its container (created, never ready) under the name: remove it by name.
      await (container ?? this.#options.client.container.dockerode.getContainer(this.#options.name)).remove({ force: true, v: true }).catch((error: unknown) => {
        if (container) throw error;
      });
      this.#container = undefined;
      this.#exit = undefined;
      await this.create(extraEnv);
      return;
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

  /**
   * Removes it from the store network (Redis traffic); the edge network, and so its published port, stays. Keeps its
   * address there for {@link reconnect}.
   */
  async disconnect(): Promise<void> {
    const container = this.#requireContainer();
    this.#storeAddress = (await container.inspect()).NetworkSettings.Networks[this.#options.networks.store]?.IPAddress || undefined;
    await this.#options.client.container.dockerode.getNetwork(this.#options.networks.store).disconnect({ Container: container.id, Force: true });
    this.#disconnected = true;
  }

  /**
   * Joins the store network again, at the address it had: a partition cuts a host off, it does not re-address it.
   * Left to Docker, instances cut off together came back at one another's addresses (the lowest free one each), and
   * a gateway's TCP connection to its Redis proxy, bound to the old address, went silently dead.
   */
  async reconnect(): Promise<void> {
    await joinNetwork(this.#options.client.container.dockerode, this.#storeJoin(), this.#requireContainer().id, this.#storeAddress);
    this.#disconnected = false;
    if (this.#pid !== undefined) await this.#options.prepareLinks?.(this.#pid);
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
