/**
 * The containers runtime: the same topology as {@link LocalRuntime}, as Docker containers started with
 * testcontainers (Ryuk disabled: its image cannot be pulled; the start-up sweep and an exit hook remove
 * leftovers instead). Everything the harness reaches is published on 127.0.0.1 on ports picked here.
 * {@link ContainerRuntime} (container-runtime.ts) validates the options and loads this module only when it starts.
 */
import { randomBytes } from "node:crypto";
import { getContainerRuntimeClient, Wait, type ContainerRuntimeClient, type StartedTestContainer, type WaitStrategy } from "testcontainers";
import { findFreePort } from "../common/free-port.js";
import { createLogger } from "../common/logger.js";
import { retryUntil } from "../common/retry.js";
import { HarnessError } from "../errors.js";
import type { Untimed } from "../events/run-events.js";
import { ToxiproxyFaults, type ToxiproxyProxy } from "../faults/toxiproxy-faults.js";
import { assertContainerSut, containerRuntimeCapabilities, gatewayImageOf } from "./containers/capabilities.js";
import { ContainerLinks, containerLinksUnavailable, removeLinkTablesSync, sweepDeadLinkTables } from "./containers/container-links.js";
import { removeRunObjects, removeRunObjectsSync, sweepDeadRunObjects } from "./containers/container-sweep.js";
import { requireDockerEngine } from "./containers/docker-engine.js";
import { GatewayContainer } from "./containers/gateway-container.js";
import { buildImages, chooseToxiproxyImage, imageExists, localImageLabels, type ToxiproxyImageChoice } from "./containers/image-build.js";
import { CONTAINER_PORTS, IMAGES, LABELS, type ImageRole } from "./containers/images.js";
import { httpReadyWait, PublishedContainer } from "./containers/published-container.js";
import { pingRedis } from "./containers/redis-ping.js";
import { describeContainerTopology, type ProxySpec, type ServiceSpec } from "./containers/topology.js";
import { faketimeVars, LIBFAKETIME_PATH } from "./faketime.js";
import type { ProcessExit } from "./gateway-process.js";
import type { PacketImpairment, TcpCounters } from "./network-namespaces.js";
import {
  DEFAULT_RUNTIME_OPTIONS,
  restartInstanceOf,
  rollingRestartOf,
  type InstanceInfo,
  type RedisEndpoint,
  type RedisMode,
  type RegistryKind,
  type RuntimeEvent,
  type RuntimeOptions,
  type StartedRuntime,
  type StartInstanceOptions,
} from "./runtime.js";
import type { ResolvedSutDefinition } from "./sut.js";
import { teardownInOrder, type TeardownItem } from "./teardown.js";

const STOP_GRACE_MS = 5_000;
const SERVICE_START_TIMEOUT_MS = 30_000;
const REDIS_RESTART_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 3;

/** A proxy between the clients and one gateway, inside the proxy container, and the host port it is published on. */
interface ClientProxy {
  proxy: ToxiproxyProxy;
  hostPort: number;
}

/** A running containers topology. `stop()` is idempotent; `await using` stops it. */
export class StartedContainerRuntime implements StartedRuntime {
  readonly kind = "containers" as const;
  readonly capabilities = containerRuntimeCapabilities();
  readonly runId: string;
  readonly sut: ResolvedSutDefinition;
  readonly authSecret: string;
  readonly host: string;
  readonly registry: RegistryKind;
  readonly connectionTtlMs: number;
  readonly heartbeatIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly redisMode: RedisMode = "standalone";
  readonly #options: RuntimeOptions;
  readonly #log = createLogger("harness:runtime:containers");
  readonly #gateways: GatewayContainer[] = [];
  readonly #proxies = new Map<string, ToxiproxyProxy[]>();
  readonly #clientProxies = new Map<string, ClientProxy>();
  readonly #networks: { key: "edge" | "store"; name: string }[] = [];
  readonly #onExit = () => {
    if (this.#links) removeLinkTablesSync(this.runId);
    removeRunObjectsSync(this.runId);
  };
  /** Packet faults on the gateways' links, when started with `networkNamespaces` (packet faults planned). */
  #links?: ContainerLinks;
  #client?: ContainerRuntimeClient;
  #redis?: StartedTestContainer;
  #redisPort = 0;
  #toxiproxyContainer?: StartedTestContainer;
  #toxiproxy?: ToxiproxyFaults;
  #toxiproxyImage?: ToxiproxyImageChoice;
  /** Path of the libfaketime the gateway image carries (its label), or `undefined` when it has none. */
  #imageLibfaketime?: string;
  /** The gateways' image: the SUT's own, or the reference gateway's. */
  readonly #gatewayImage: string;
  #stopping?: Promise<void>;
  #op: Promise<unknown> = Promise.resolve();

  /** @internal use {@link ContainerRuntime.start}. */
  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.runId = options.runId;
    this.sut = assertContainerSut(options.sut);
    this.#gatewayImage = gatewayImageOf(this.sut);
    this.authSecret = options.authSecret ?? randomBytes(24).toString("hex");
    this.host = options.host ?? DEFAULT_RUNTIME_OPTIONS.host;
    this.registry = options.registry ?? DEFAULT_RUNTIME_OPTIONS.registry;
    this.connectionTtlMs = options.connectionTtlMs ?? DEFAULT_RUNTIME_OPTIONS.connectionTtlMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_RUNTIME_OPTIONS.heartbeatIntervalMs;
    this.drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_RUNTIME_OPTIONS.drainTimeoutMs;
  }

  #emit(event: Untimed<RuntimeEvent>): void {
    this.#options.onEvent?.({ t: Date.now(), ...event });
  }

  #labels(role: ImageRole | "network", instance?: string): Record<string, string> {
    return { [LABELS.managed]: "1", [LABELS.runId]: this.runId, [LABELS.ownerPid]: String(process.pid), [LABELS.role]: role, ...(instance ? { [LABELS.instance]: instance } : {}) };
  }

  #name(key: string): string {
    return `tc-${this.runId}-${key}`.slice(0, 120);
  }

  /** @internal */
  async init(): Promise<void> {
    const t0 = Date.now();
    // Ryuk's image cannot be pulled here; our own sweep and exit hook do its job. testcontainers reads both lazily.
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= this.host;
    if (this.#options.networkNamespaces) {
      const unavailable = containerLinksUnavailable();
      if (unavailable) throw new HarnessError("HARNESS_ERR_NETNS_UNAVAILABLE", unavailable);
      this.#links = new ContainerLinks(this.runId);
    }
    const engine = await requireDockerEngine();
    process.on("exit", this.#onExit);
    const swept = await sweepDeadRunObjects();
    if (this.capabilities.packetFaults) sweepDeadLinkTables();
    // A SUT of its own brings its image: the engine must have it (a run never pulls; these machines have no registry).
    if (this.sut.image !== null && !(await imageExists(this.sut.image))) {
      throw new HarnessError(
        "HARNESS_ERR_DOCKER",
        `the SUT ${JSON.stringify(this.sut.name)} names the image ${this.sut.image}, which this Docker engine does not have: build it (docker build -t ${this.sut.image} ...) or load it (docker load -i <file>) first; a run never pulls images`,
      );
    }
    const missing: ImageRole[] = [];
    for (const role of Object.keys(IMAGES) as ImageRole[]) {
      if (role === "gateway" && this.sut.image !== null) continue;
      if (!(await imageExists(IMAGES[role]))) missing.push(role);
    }
    const built = missing.length > 0 ? await buildImages({ roles: missing }) : [];
    this.#toxiproxyImage = await chooseToxiproxyImage();
    this.#imageLibfaketime = (await localImageLabels(this.#gatewayImage))?.[LABELS.libfaketime];
    this.#client = await getContainerRuntimeClient();
    for (const key of ["edge", "store"] as const) {
      const name = this.#name(key);
      const networkId = await this.#createNetwork(name, key === "store");
      this.#networks.push({ key, name });
      // The host's own sockets (the published ports' proxy, the harness's probes) send into the network from its bridge.
      if (this.#links) await ContainerLinks.segmentBridge(networkId);
    }
    const topology = describeContainerTopology({
      instances: this.#options.instances ?? DEFAULT_RUNTIME_OPTIONS.instances,
      hostnames: { redis: this.#name("redis"), toxiproxy: this.#name("toxiproxy") },
      proxyPrefix: this.runId,
      gatewayEnv: this.#gatewayEnv(),
      toxiproxyImage: this.#toxiproxyImage.image,
      readyPath: this.sut.readyPath,
      gatewayImage: this.#gatewayImage,
      sutEnv: this.sut.env,
      clientProxies: this.#options.clientProxies ?? false,
      ...(this.#toxiproxyImage.kind === "real" ? { toxiproxyCommand: ["-host=0.0.0.0"] } : {}),
    });
    const service = (key: string) => topology.services.find((s) => s.key === key)!;
    const [redis, toxiproxy] = await Promise.all([
      this.#startService(service("redis"), Wait.forLogMessage(/Ready to accept connections/)),
      this.#startService(service("toxiproxy"), httpReadyWait("/version", CONTAINER_PORTS.toxiproxyApi, SERVICE_START_TIMEOUT_MS)),
    ]);
    this.#redis = redis.container;
    this.#redisPort = redis.hostPort;
    this.#toxiproxyContainer = toxiproxy.container;
    // The proxy container sends every packet that reaches a gateway from Redis or, with client proxies, from its clients.
    if (this.#links) await ContainerLinks.segment((await this.#client.container.getById(toxiproxy.container.getId()).inspect()).State.Pid);
    this.#toxiproxy = new ToxiproxyFaults(`http://${this.host}:${toxiproxy.hostPort}`);
    const create = (proxy: ProxySpec) => this.toxiproxy.createProxy({ name: proxy.name, listen: proxy.listen, upstream: proxy.upstream });
    for (const proxy of topology.proxies) this.#proxies.set(proxy.instance, [await create(proxy)]);
    for (const proxy of topology.clientProxies) {
      const containerPort = Number(proxy.listen.slice(proxy.listen.lastIndexOf(":") + 1));
      this.#clientProxies.set(proxy.instance, { proxy: await create(proxy), hostPort: toxiproxy.extraHostPorts.get(containerPort)! });
    }
    await Promise.all(topology.services.filter((s) => s.role === "gateway").map((s) => this.#startGateway(s)));
    this.#emit({
      type: "topology_started",
      detail: {
        runtime: "containers",
        instances: this.#gateways.length,
        redis: this.redisMode,
        startMs: Date.now() - t0,
        docker: engine,
        images: { gateway: this.#gatewayImage, redis: IMAGES.redis, toxiproxy: this.#toxiproxyImage.image },
        toxiproxy: this.#toxiproxyImage.kind,
        built: built.map((b) => b.image),
        swept: swept.map((o) => `${o.kind} ${o.name}`),
      },
    });
  }

  /**
   * Creates a bridge network of the run. With `pinnable`, its subnet is one Docker picked but configured as the
   * run's own, so that a gateway cut off it can come back at the address it had (Docker honours an address asked
   * for only on a network with a configured subnet): created once to learn a free subnet, then again with it. Another
   * engine user may take that subnet in between; then it tries again.
   */
  async #createNetwork(name: string, pinnable: boolean): Promise<string> {
    const { dockerode } = this.#client!.container;
    const options = { Name: name, Driver: "bridge", CheckDuplicate: true, Labels: this.#labels("network") };
    if (!pinnable) return (await dockerode.createNetwork(options)).id;
    for (let attempt = 1; ; attempt++) {
      const network = await dockerode.createNetwork(options);
      const config = ((await network.inspect()) as { IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] } }).IPAM?.Config?.[0];
      await network.remove();
      if (!config?.Subnet) throw new HarnessError("HARNESS_ERR_DOCKER", `network ${name}: Docker gave it no IPv4 subnet to configure`);
      try {
        return (await dockerode.createNetwork({ ...options, IPAM: { Driver: "default", Config: [{ Subnet: config.Subnet, ...(config.Gateway ? { Gateway: config.Gateway } : {}) }] } })).id;
      } catch (error) {
        if (attempt >= 3 || !/overlap/i.test(String((error as Error).message))) throw error;
      }
    }
  }

  #gatewayEnv(): Record<string, string> {
    return {
      AUTH_SECRET: this.authSecret,
      CONNECTION_TTL_MS: String(this.connectionTtlMs),
      HEARTBEAT_INTERVAL_MS: String(this.heartbeatIntervalMs),
      DRAIN_TIMEOUT_MS: String(this.drainTimeoutMs),
      REGISTRY: this.registry,
      ...(this.#options.env ?? {}),
    };
  }

  /**
   * Starts Redis or the proxy: on its networks with its aliases, its port (and any extra ports) published on
   * `host`; resolves with the host port of each.
   */
  async #startService(spec: ServiceSpec, wait: WaitStrategy): Promise<{ container: StartedTestContainer; hostPort: number; extraHostPorts: Map<number, number> }> {
    const networks = spec.networks.map((key) => ({ name: this.#networks.find((n) => n.key === key)!.name, ...(spec.aliases?.[key] ? { aliases: spec.aliases[key] } : {}) }));
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const hostPort = await findFreePort(this.host);
      const extraHostPorts = new Map<number, number>();
      for (const port of spec.extraPorts ?? []) {
        let picked = await findFreePort(this.host);
        // findFreePort probes without holding the port: the same free port may come back twice in a row.
        while (picked === hostPort || [...extraHostPorts.values()].includes(picked)) picked = await findFreePort(this.host);
        extraHostPorts.set(port, picked);
      }
      const container = new PublishedContainer(spec.image)
        .withName(spec.hostname)
        .withLabels(this.#labels(spec.role))
        .withNetworks(networks)
        .withPublishedPort(spec.containerPort, this.host, hostPort)
        .withWaitStrategy(wait.withStartupTimeout(SERVICE_START_TIMEOUT_MS));
      for (const [port, picked] of extraHostPorts) container.withPublishedPort(port, this.host, picked);
      if (spec.command) container.withCommand(spec.command);
      try {
        return { container: await container.start(), hostPort, extraHostPorts };
      } catch (error) {
        lastError = error;
        // Only a port taken between findFreePort and the bind is worth another try.
        if (!/address already in use|port is already allocated/i.test(String((error as Error).message))) break;
        // The container was created before its start failed: free the name (other containers reach it by name).
        await this.#client!.container.dockerode.getContainer(spec.hostname).remove({ force: true }).catch(() => undefined);
      }
    }
    throw new HarnessError("HARNESS_ERR_DOCKER", `cannot start ${spec.key} (${spec.image}): ${(lastError as Error)?.message ?? String(lastError)}`, { cause: lastError });
  }

  async #startGateway(spec: ServiceSpec): Promise<void> {
    const gateway = new GatewayContainer({
      client: this.#client!,
      service: spec,
      name: this.#name(spec.key),
      networks: { edge: this.#networks.find((n) => n.key === "edge")!.name, store: this.#networks.find((n) => n.key === "store")!.name },
      host: this.host,
      hostPort: await findFreePort(this.host),
      labels: this.#labels("gateway", spec.key),
      startupTimeoutMs: this.sut.startupTimeoutMs,
      onOutput: (line, stream) => this.#options.onOutput?.(spec.key, line, stream),
      onStateChange: (state, exit, pid) => this.#emit({ type: "process_state", target: spec.key, state, ...(pid !== undefined ? { pid } : {}), ...(exit ? { exit } : {}) }),
      ...(this.#links ? { prepareLinks: (pid: number) => this.#prepareLinks(spec.key, pid) } : {}),
    });
    this.#gateways.push(gateway);
    this.#gateways.sort((a, b) => a.instanceId.localeCompare(b.instanceId, "en", { numeric: true }));
    await gateway.create();
  }

  /** Readies instance `id`'s new links (main process `pid`) for packet faults and carries its fault over to them. */
  async #prepareLinks(id: string, pid: number): Promise<void> {
    await ContainerLinks.segment(pid);
    await this.#links!.relink(id, pid);
  }

  /** The proxy image the topology runs and whether it is the real Toxiproxy. */
  get toxiproxyImage(): ToxiproxyImageChoice {
    if (!this.#toxiproxyImage) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has not started");
    return this.#toxiproxyImage;
  }

  /**
   * run.json's `topology` additions: the runtime, the gateways' image (the SUT's own, or the reference gateway's) and
   * which proxy image ran (the real Toxiproxy, or the compatible one).
   */
  get topologyDetail(): Readonly<Record<string, unknown>> {
    return { runtime: "containers", gateway_image: this.#gatewayImage, toxiproxy_image: this.toxiproxyImage };
  }

  /** The Toxiproxy API client of this topology (published on 127.0.0.1). */
  get toxiproxy(): ToxiproxyFaults {
    if (!this.#toxiproxy) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has no proxy yet");
    return this.#toxiproxy;
  }

  /** Direct address of Redis: its port published on 127.0.0.1 (never through a proxy). */
  get redis(): RedisEndpoint {
    if (!this.#redis) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has no Redis yet");
    return { mode: "standalone", url: `redis://${this.host}:${this.#redisPort}`, nodes: [{ host: this.host, port: this.#redisPort }] };
  }

  get instances(): InstanceInfo[] {
    return this.#gateways.map((g) => this.#info(g));
  }

  liveInstanceIds(): string[] {
    return this.#gateways.filter((g) => g.state === "started").map((g) => g.instanceId);
  }

  targets(): string[] {
    return this.#gateways.map((g) => this.#clientUrl(g));
  }

  instance(id: string): InstanceInfo {
    return this.#info(this.#gateway(id));
  }

  proxiesOf(id: string): readonly ToxiproxyProxy[] {
    this.#gateway(id);
    return this.#proxies.get(id) ?? [];
  }

  /** The proxy between the clients and instance `id`, in the proxy container; none unless started with `clientProxies`. */
  clientProxiesOf(id: string): readonly ToxiproxyProxy[] {
    this.#gateway(id);
    const client = this.#clientProxies.get(id);
    return client ? [client.proxy] : [];
  }

  #clientUrl(g: GatewayContainer): string {
    const client = this.#clientProxies.get(g.instanceId);
    return `ws://${this.host}:${client ? client.hostPort : g.hostPort}`;
  }

  #info(g: GatewayContainer): InstanceInfo {
    return Object.freeze({
      id: g.instanceId,
      port: g.hostPort,
      httpUrl: `http://${this.host}:${g.hostPort}`,
      wsUrl: `ws://${this.host}:${g.hostPort}`,
      state: g.state,
      pid: g.pid,
      generation: g.generation,
      proxies: (this.#proxies.get(g.instanceId) ?? []).map((p) => p.name),
      clientUrl: this.#clientUrl(g),
    });
  }

  #gateway(id: string): GatewayContainer {
    const gateway = this.#gateways.find((g) => g.instanceId === id);
    if (!gateway) throw new HarnessError("HARNESS_ERR_UNKNOWN_INSTANCE", `no instance ${JSON.stringify(id)}; the topology has ${this.#gateways.map((g) => g.instanceId).join(", ")}`);
    return gateway;
  }

  // One topology operation at a time, as in the local runtime.
  #serial<T>(operation: string, id: string, fn: () => Promise<T>): Promise<T> {
    const next = this.#op.then(() => {
      this.#log(operation, { instance: id });
      if (this.#stopping) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology is stopping");
      return fn();
    });
    this.#op = next.catch(() => undefined);
    return next;
  }

  killInstance(id: string): Promise<ProcessExit> {
    return this.#serial("kill", id, () => this.#gateway(id).kill());
  }

  stopInstance(id: string): Promise<ProcessExit> {
    return this.#serial("stop", id, async () => {
      const gateway = this.#gateway(id);
      const wasRunning = gateway.state === "started";
      const exit = await gateway.stop(this.drainTimeoutMs + STOP_GRACE_MS);
      if (wasRunning && exit.code !== 0) {
        throw new HarnessError("HARNESS_ERR_INSTANCE_STOP_FAILED", `instance ${id} did not exit with code 0 after SIGTERM (code ${exit.code}, signal ${exit.signal}):\n${gateway.outputTail}`);
      }
      return exit;
    });
  }

  /**
   * Starts a stopped or killed instance again on the same published port. With `clockOffsetMs` (or when the last
   * start had one and this one has none) its container is replaced by one whose environment preloads the image's
   * libfaketime with that offset (or does not): see {@link GatewayContainer}.
   */
  startInstance(id: string, options: StartInstanceOptions = {}): Promise<InstanceInfo> {
    return this.#serial("start", id, async () => {
      const gateway = this.#gateway(id);
      const offsetMs = options.clockOffsetMs ?? 0;
      if (offsetMs !== 0 && this.#imageLibfaketime === undefined) {
        throw new HarnessError(
          "HARNESS_ERR_UNSUPPORTED",
          this.sut.image === null
            ? `a clock skew of ${id} needs libfaketime in the gateway image (${IMAGES.gateway}), which was built on a host without it: install Debian's faketime package (apt-get install -y faketime), then rebuild the images (npm run images)`
            : `a clock skew of ${id} needs libfaketime in the SUT's image (${this.sut.image}), declared by the label ${LABELS.libfaketime}=${LIBFAKETIME_PATH} (where LD_PRELOAD finds it; an image built FROM ${IMAGES.gateway} inherits it)`,
        );
      }
      await gateway.start(offsetMs !== 0 ? faketimeVars(offsetMs) : {});
      return this.#info(gateway);
    });
  }

  restartInstance(id: string, mode: "stop" | "kill" = "stop"): Promise<InstanceInfo> {
    return restartInstanceOf(this, id, mode);
  }

  rollingRestart(mode: "stop" | "kill" = "stop", order: readonly string[] = this.#gateways.map((g) => g.instanceId)): Promise<void> {
    return rollingRestartOf(this, mode, order);
  }

  pauseInstance(id: string): Promise<void> {
    return this.#serial("pause", id, () => this.#gateway(id).pause());
  }

  resumeInstance(id: string): Promise<void> {
    return this.#serial("resume", id, () => this.#gateway(id).resume());
  }

  disconnectInstance(id: string): Promise<void> {
    return this.#serial("disconnect", id, () => this.#gateway(id).disconnect());
  }

  reconnectInstance(id: string): Promise<void> {
    return this.#serial("reconnect", id, () => this.#gateway(id).reconnect());
  }

  /** The links of instance `id` when packet faults are planned: `HARNESS_ERR_UNSUPPORTED` otherwise. */
  #faultable(id: string, what: string): { links: ContainerLinks; pid: number } {
    const gateway = this.#gateway(id);
    if (!this.#links) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `${what} on ${id} needs the runtime started with networkNamespaces: true (as root, with ip, nft, tc, nsenter and ss)`);
    if (gateway.pid === undefined) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `${what} on ${id} needs it running (it is ${gateway.state})`);
    return { links: this.#links, pid: gateway.pid };
  }

  /**
   * Applies a packet fault to both directions of every link of instance `id` (container-links.ts). Needs
   * `capabilities.packetFaults` and a runtime started with `networkNamespaces`. It outlives a restart of the instance
   * (made again on the new container's links), as in the local runtime.
   */
  impairLink(id: string, impairment: PacketImpairment): Promise<void> {
    return this.#serial("impair link", id, () => {
      const { links, pid } = this.#faultable(id, "a packet fault");
      return links.impair(id, pid, impairment);
    });
  }

  /** Silences the Redis connections instance `id` holds (dropped both ways on the host end) while new ones get through, until `healLink`. */
  silenceLinks(id: string): Promise<number[]> {
    return this.#serial("silence links", id, () => {
      const { links, pid } = this.#faultable(id, "silencing the Redis links");
      return links.silence(id, pid);
    });
  }

  /** Removes instance `id`'s packet fault (idempotent). */
  healLink(id: string): Promise<void> {
    this.#gateway(id);
    return this.#links?.heal(id) ?? Promise.resolve();
  }

  /** The TCP counters of instance `id`'s container (what packet faults did to its connections). */
  async linkCounters(id: string): Promise<TcpCounters> {
    const { links, pid } = this.#faultable(id, "reading link counters");
    return links.tcpCounters(id, pid);
  }

  /** Unsupported: the containers runtime runs standalone Redis only, with no replica to promote. */
  failoverRedis(): Promise<Record<string, unknown>> {
    return Promise.reject(new HarnessError("HARNESS_ERR_UNSUPPORTED", "a Redis failover needs a Sentinel group, which only the local runtime starts (--runtime local --redis sentinel)"));
  }

  /**
   * Restarts Redis with data loss: SIGKILL the container, start it again (no persistence: it comes back empty),
   * on the same published port and network name, so the proxies and the recorder reconnect by themselves.
   */
  restartRedis(): Promise<void> {
    return this.#serial("restart", "redis", async () => {
      const redis = this.#client!.container.getById(this.#redis!.getId());
      const t0 = Date.now();
      await redis.kill({ signal: "SIGKILL" });
      this.#log("redis killed");
      await redis.wait();
      this.#log("redis exited");
      this.#emit({ type: "redis_restart", target: "redis", detail: { phase: "killed" } });
      await redis.start();
      this.#log("redis started");
      await retryUntil(
        () => pingRedis(this.host, this.#redisPort),
        (pong) => pong,
        () => new HarnessError("HARNESS_ERR_REDIS_START_TIMEOUT", `Redis did not answer PING on ${this.host}:${this.#redisPort} within ${REDIS_RESTART_TIMEOUT_MS}ms after its restart`),
        { timeoutMs: REDIS_RESTART_TIMEOUT_MS, intervalMs: 25 },
      );
      this.#emit({ type: "redis_restart", target: "redis", detail: { phase: "started", downMs: Date.now() - t0 } });
    });
  }

  /** Removes gateways, then the proxy, then Redis, then the networks; idempotent. */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      await this.#op.catch(() => undefined);
      const remove = (container: StartedTestContainer | undefined, name: string): TeardownItem[] =>
        container ? [{ name, stop: () => this.#client!.container.getById(container.getId()).remove({ force: true, v: true }) }] : [];
      const client = this.#client;
      try {
        await teardownInOrder([
          this.#links ? [{ name: "packet faults", stop: () => this.#links!.stop() }] : [],
          this.#gateways.map((g) => ({ name: `gateway ${g.instanceId} (container ${g.containerId?.slice(0, 12)})`, stop: () => g.remove() })),
          remove(this.#toxiproxyContainer, "proxy container"),
          remove(this.#redis, "redis container"),
          client ? this.#networks.map((n) => ({ name: `network ${n.name}`, stop: () => client.container.dockerode.getNetwork(n.name).remove() })) : [],
        ]);
      } finally {
        // Whatever a failed step above left (or a start that failed half-way) goes by label.
        await removeRunObjects(this.runId).catch(() => undefined);
        process.off("exit", this.#onExit);
        this.#emit({ type: "topology_stopped" });
      }
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
