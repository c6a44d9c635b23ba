import { randomBytes } from "node:crypto";
import { findFreePort } from "../common/free-port.js";
import { createLogger } from "../common/logger.js";
import { HarnessError } from "../errors.js";
import type { Untimed } from "../events/run-events.js";
import { ToxiproxyFaults, type ToxiproxyProxy } from "../faults/toxiproxy-faults.js";
import { faketimeEnv } from "./faketime.js";
import { GatewayProcess, type ProcessExit } from "./gateway-process.js";
import { LocalRedis } from "./local-redis.js";
import { networkNamespacesUnavailable, RunNetwork, type InstanceLink, type PacketImpairment, type TcpCounters } from "./network-namespaces.js";
import { sweepNetworkLeftovers } from "./network-sweep.js";
import {
  DEFAULT_RUNTIME_OPTIONS,
  restartInstanceOf,
  rollingRestartOf,
  validateRuntimeOptions,
  type InstanceInfo,
  type RedisEndpoint,
  type RedisMode,
  type RegistryKind,
  type Runtime,
  type RuntimeCapabilities,
  type RuntimeEvent,
  type RuntimeOptions,
  type StartedRuntime,
  type StartInstanceOptions,
} from "./runtime.js";
import { REFERENCE_SUT, resolveSutDefinition, type ResolvedSutDefinition } from "./sut.js";
import { teardownInOrder, type TeardownItem } from "./teardown.js";
import { ToxiproxyProcess } from "./toxiproxy-process.js";

const PORT_ATTEMPTS = 3;
const STOP_GRACE_MS = 5_000;
/** Port of a gateway inside a network namespace of its own: the namespace is the run's, so any port is free there. */
const NAMESPACE_GATEWAY_PORT = 8080;

/**
 * What the local runtime can do: pause by SIGSTOP/SIGCONT of an instance's process group, restart a standalone
 * Redis, fail a Sentinel-watched primary over, packet faults in network namespaces of the run's own (as root, with
 * `ip`, `nft` and `tc`; standalone Redis: the sentinels and cluster nodes are reached on 127.0.0.1, which a namespace
 * does not share). A network partition below the proxy needs a network of its own: containers only.
 */
export function localCapabilities(redis: RedisMode): RuntimeCapabilities {
  return Object.freeze({
    pause: true,
    redisRestart: redis === "standalone",
    networkPartition: false,
    redisModes: Object.freeze(["standalone", "cluster", "sentinel"] as const),
    redisFailover: redis === "sentinel" || redis === "cluster",
    clockSkew: true,
    clientProxies: true,
    packetFaults: redis === "standalone" && networkNamespacesUnavailable() === undefined,
  });
}

function networkPartitionUnsupported(operation: string, id: string): HarnessError {
  return new HarnessError(
    "HARNESS_ERR_UNSUPPORTED",
    `${operation}(${JSON.stringify(id)}): a network partition below the proxy is not available with the local runtime (every process shares the host's network); use --runtime containers, or a proxy partition (Fault.partition)`,
  );
}

/** The local topology, unstarted: Redis, one Toxiproxy-compatible server, N gateway processes. */
export class LocalRuntime implements Runtime {
  readonly kind = "local" as const;
  readonly capabilities: RuntimeCapabilities;
  readonly #options: RuntimeOptions;

  constructor(options: RuntimeOptions) {
    validateRuntimeOptions(options);
    if (options.sut?.command === null) {
      throw new HarnessError(
        "HARNESS_ERR_UNSUPPORTED",
        `the SUT ${JSON.stringify(options.sut.name)} is an image (${options.sut.image}) with no \`command\`: run it with --runtime containers, or add the command that starts one instance as a process`,
      );
    }
    this.#options = { ...options };
    this.capabilities = localCapabilities(options.redis ?? DEFAULT_RUNTIME_OPTIONS.redis);
  }

  /** Starts Redis, the proxy server, one proxy per instance, then the instances, and waits until all are ready. */
  async start(): Promise<StartedLocalRuntime> {
    const started = new StartedLocalRuntime(this.#options);
    try {
      await started.init();
    } catch (error) {
      await started.stop().catch(() => undefined);
      throw error;
    }
    return started;
  }
}

interface Slot {
  id: string;
  port: number;
  /** Address the instance binds and is reached on: the runtime's host, or its namespace's address. */
  address: string;
  /** Its network namespace and veth pair (`networkNamespaces`). */
  link?: InstanceLink;
  proxies: ToxiproxyProxy[];
  process?: GatewayProcess;
  generation: number;
  /** The proxy in front of it for its clients (`clientProxies`). */
  clientProxy?: ToxiproxyProxy;
  /** Wall-clock skew of its current process, ms (libfaketime); 0 for none. */
  clockOffsetMs: number;
}

/** A running local topology. `stop()` is idempotent; `await using` stops it. */
export class StartedLocalRuntime implements StartedRuntime {
  readonly kind = "local" as const;
  readonly capabilities: RuntimeCapabilities;
  readonly runId: string;
  readonly sut: ResolvedSutDefinition;
  readonly authSecret: string;
  readonly host: string;
  readonly registry: RegistryKind;
  readonly connectionTtlMs: number;
  readonly heartbeatIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly redisMode: RedisMode;
  readonly #options: RuntimeOptions;
  readonly #log = createLogger("harness:runtime");
  readonly #slots: Slot[] = [];
  #redis?: LocalRedis;
  #toxiproxyServer?: ToxiproxyProcess;
  readonly #proxyStallListeners = new Set<(from: number, durationMs: number) => void>();
  #toxiproxy?: ToxiproxyFaults;
  #network?: RunNetwork;
  #stopping?: Promise<void>;
  #op: Promise<unknown> = Promise.resolve();

  /** @internal use {@link LocalRuntime.start}. */
  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.runId = options.runId;
    this.sut = options.sut ?? resolveSutDefinition(REFERENCE_SUT);
    this.authSecret = options.authSecret ?? randomBytes(24).toString("hex");
    this.host = options.host ?? DEFAULT_RUNTIME_OPTIONS.host;
    this.registry = options.registry ?? DEFAULT_RUNTIME_OPTIONS.registry;
    this.connectionTtlMs = options.connectionTtlMs ?? DEFAULT_RUNTIME_OPTIONS.connectionTtlMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_RUNTIME_OPTIONS.heartbeatIntervalMs;
    this.drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_RUNTIME_OPTIONS.drainTimeoutMs;
    this.redisMode = options.redis ?? DEFAULT_RUNTIME_OPTIONS.redis;
    this.capabilities = localCapabilities(this.redisMode);
  }

  #emit(event: Untimed<RuntimeEvent>): void {
    this.#options.onEvent?.({ t: Date.now(), ...event });
  }

  /** @internal */
  async init(): Promise<void> {
    const t0 = Date.now();
    // Refused before anything starts: namespaces need root and the tools, and standalone Redis.
    if (this.#options.networkNamespaces) {
      if (!this.capabilities.packetFaults) {
        throw new HarnessError("HARNESS_ERR_NETNS_UNAVAILABLE", networkNamespacesUnavailable() ?? `network namespaces need standalone Redis (this topology runs ${this.redisMode}: its nodes are reached on ${this.host}, which a namespace does not share)`);
      }
      sweepNetworkLeftovers();
      this.#network = new RunNetwork(this.runId);
    }
    // Redis and the proxy server start side by side (the proxy server's process takes about 150 ms to listen); each
    // is kept as soon as it runs, so that a failed start of the other still stops it (LocalRuntime.start).
    const [redis, proxy] = await Promise.allSettled([
      LocalRedis.start(this.redisMode, this.runId, this.host).then((started) => (this.#redis = started)),
      ToxiproxyProcess.start({
        runId: this.runId,
        host: this.host,
        onStall: (from, durationMs) => this.#proxyStallListeners.forEach((listener) => listener(from, durationMs)),
      }).then((started) => (this.#toxiproxyServer = started)),
    ]);
    if (redis.status === "rejected") throw redis.reason;
    if (proxy.status === "rejected") throw proxy.reason;
    this.#log("toxiproxy server", { pid: proxy.value.pid, url: proxy.value.url });
    this.#toxiproxy = new ToxiproxyFaults(proxy.value.url);
    const count = this.#options.instances ?? DEFAULT_RUNTIME_OPTIONS.instances;
    for (let i = 1; i <= count; i++) {
      const id = `gw-${i}`;
      const link = await this.#network?.create(id);
      // An instance in a namespace reaches its proxies on the host end of its pair.
      const listenHost = link?.hostAddress ?? this.host;
      const proxies: ToxiproxyProxy[] = [];
      for (const [n, node] of this.redis.nodes.entries()) {
        proxies.push(await this.#createProxy(`${this.runId}-${id}-redis${this.redisMode === "standalone" ? "" : `-${n}`}`, `${node.host}:${node.port}`, listenHost));
      }
      this.#slots.push({ id, port: link ? NAMESPACE_GATEWAY_PORT : 0, address: link?.namespaceAddress ?? this.host, ...(link ? { link } : {}), proxies, generation: 0, clockOffsetMs: 0 });
    }
    await Promise.all(this.#slots.map((slot) => this.#spawn(slot, !slot.link)));
    if (this.#options.clientProxies) {
      for (const slot of this.#slots) slot.clientProxy = await this.#createProxy(`${this.runId}-${slot.id}-clients`, `${slot.address}:${slot.port}`);
    }
    this.#emit({ type: "topology_started", detail: { instances: count, redis: this.redisMode, startMs: Date.now() - t0 } });
  }

  async #createProxy(name: string, upstream: string, listenHost: string = this.host): Promise<ToxiproxyProxy> {
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = await findFreePort(listenHost);
      try {
        return await this.toxiproxy.createProxy({ name, listen: `${listenHost}:${port}`, upstream });
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /**
   * Calls `listener` for every stall of the proxy server's event loop (its own process: toxiproxy-process.ts) until
   * the returned function is called. Nothing passes the proxies during such a stall.
   */
  onProxyStall(listener: (from: number, durationMs: number) => void): () => void {
    this.#proxyStallListeners.add(listener);
    return () => this.#proxyStallListeners.delete(listener);
  }

  /** The Toxiproxy API client of this topology. */
  get toxiproxy(): ToxiproxyFaults {
    if (!this.#toxiproxy) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has no Toxiproxy server yet");
    return this.#toxiproxy;
  }

  /** Direct address of Redis (not through any proxy). */
  get redis(): RedisEndpoint {
    if (this.#redis) return this.#redis.endpoint;
    throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has no Redis yet");
  }

  /** Every instance, in id order. */
  get instances(): InstanceInfo[] {
    return this.#slots.map((slot) => this.#info(slot));
  }

  /** Ids of instances whose process is started. */
  liveInstanceIds(): string[] {
    return this.#slots.filter((slot) => slot.process?.state === "started").map((slot) => slot.id);
  }

  /** WebSocket base URLs of every instance (the fleet's targets). */
  targets(): string[] {
    return this.#slots.map((slot) => (slot.clientProxy ? `ws://${slot.clientProxy.listen}` : `ws://${slot.address}:${slot.port}`));
  }

  /** One instance. Rejects an unknown id with `HARNESS_ERR_UNKNOWN_INSTANCE`. */
  instance(id: string): InstanceInfo {
    return this.#info(this.#slot(id));
  }

  /** The proxies between instance `id` and Redis (one, or one per cluster node). */
  proxiesOf(id: string): readonly ToxiproxyProxy[] {
    return this.#slot(id).proxies;
  }

  /** The proxy between the clients and instance `id`; none unless started with `clientProxies`. */
  clientProxiesOf(id: string): readonly ToxiproxyProxy[] {
    const proxy = this.#slot(id).clientProxy;
    return proxy ? [proxy] : [];
  }

  #info(slot: Slot): InstanceInfo {
    return Object.freeze({
      id: slot.id,
      port: slot.port,
      httpUrl: `http://${slot.address}:${slot.port}`,
      wsUrl: `ws://${slot.address}:${slot.port}`,
      state: slot.process?.state ?? "idle",
      pid: slot.process?.pid,
      generation: slot.generation,
      proxies: slot.proxies.map((proxy) => proxy.name),
      clientUrl: slot.clientProxy ? `ws://${slot.clientProxy.listen}` : `ws://${slot.address}:${slot.port}`,
      ...(slot.link ? { namespace: slot.link.namespace } : {}),
    });
  }

  #slot(id: string): Slot {
    const slot = this.#slots.find((candidate) => candidate.id === id);
    if (!slot) throw new HarnessError("HARNESS_ERR_UNKNOWN_INSTANCE", `no instance ${JSON.stringify(id)}; the topology has ${this.#slots.map((s) => s.id).join(", ")}`);
    return slot;
  }

  #vars(slot: Slot): Record<string, string> {
    return {
      PORT: String(slot.port),
      HOST: slot.address,
      ...this.#redis!.gatewayVars(slot.proxies),
      INSTANCE_ID: slot.id,
      AUTH_SECRET: this.authSecret,
      CONNECTION_TTL_MS: String(this.connectionTtlMs),
      HEARTBEAT_INTERVAL_MS: String(this.heartbeatIntervalMs),
      DRAIN_TIMEOUT_MS: String(this.drainTimeoutMs),
      REGISTRY: this.registry,
      ...(this.#options.env ?? {}),
      ...(slot.clockOffsetMs !== 0 ? faketimeEnv(slot.clockOffsetMs) : {}),
    };
  }

  async #spawn(slot: Slot, pickPort: boolean): Promise<void> {
    const attempts = pickPort ? PORT_ATTEMPTS : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (pickPort) slot.port = await findFreePort(slot.address);
      const process = new GatewayProcess({
        instanceId: slot.id,
        sut: this.sut,
        vars: this.#vars(slot),
        runId: this.runId,
        host: slot.address,
        port: slot.port,
        ...(slot.link ? { commandPrefix: this.#network!.execPrefix(slot.id) } : {}),
        onOutput: (line, stream) => this.#options.onOutput?.(slot.id, line, stream),
        onStateChange: (state, exit) => this.#emit({ type: "process_state", target: slot.id, state, ...(process.pid !== undefined ? { pid: process.pid } : {}), ...(exit ? { exit } : {}) }),
      });
      slot.process = process;
      slot.generation++;
      try {
        await process.start();
        return;
      } catch (error) {
        lastError = error;
        // Another process took the port between findFreePort and the bind: pick another (first start only).
        if (!(pickPort && /EADDRINUSE/.test(process.outputTail))) break;
        this.#log("port taken, retrying", { instance: slot.id, port: slot.port });
      }
    }
    throw lastError;
  }

  // One topology operation at a time: a kill racing a restart of the same instance would leave it undefined.
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#op.then(() => {
      if (this.#stopping) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology is stopping");
      return fn();
    });
    this.#op = next.catch(() => undefined);
    return next;
  }

  /** SIGKILLs instance `id` (a crash: nothing is unregistered). Resolves with its exit. */
  killInstance(id: string): Promise<ProcessExit> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      this.#log("kill", { instance: id });
      return slot.process ? slot.process.kill() : { code: null, signal: null, expected: true };
    });
  }

  /**
   * SIGTERMs instance `id` (drain) and waits for its exit (SIGKILL after `DRAIN_TIMEOUT_MS` plus a grace).
   * Rejects with `HARNESS_ERR_INSTANCE_STOP_FAILED` when it does not exit with code 0.
   */
  stopInstance(id: string): Promise<ProcessExit> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      this.#log("stop", { instance: id });
      if (!slot.process) return { code: 0, signal: null, expected: true };
      const wasRunning = slot.process.state === "started" || slot.process.state === "paused";
      const exit = await slot.process.stop({ timeoutMs: this.drainTimeoutMs + STOP_GRACE_MS });
      if (wasRunning && exit.code !== 0) {
        throw new HarnessError("HARNESS_ERR_INSTANCE_STOP_FAILED", `instance ${id} did not exit with code 0 after SIGTERM (code ${exit.code}, signal ${exit.signal}):\n${slot.process.outputTail}`);
      }
      return exit;
    });
  }

  /** Starts instance `id` again on the same port (so clients come back), and waits until it is ready. */
  startInstance(id: string, options: StartInstanceOptions = {}): Promise<InstanceInfo> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      const state = slot.process?.state;
      if (state === "started" || state === "paused" || state === "starting" || state === "stopping") {
        throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${id} is ${state}; stop or kill it before starting it again`);
      }
      this.#log("start", { instance: id, port: slot.port, clockOffsetMs: options.clockOffsetMs ?? 0 });
      slot.clockOffsetMs = options.clockOffsetMs ?? 0;
      await this.#spawn(slot, false);
      return this.#info(slot);
    });
  }

  /** Stops (`mode: "stop"`, SIGTERM drain) or kills (`"kill"`) instance `id`, then starts it on the same port. */
  restartInstance(id: string, mode: "stop" | "kill" = "stop"): Promise<InstanceInfo> {
    return restartInstanceOf(this, id, mode);
  }

  /** Restarts every instance in turn (a rolling deploy), each ready before the next goes down. */
  rollingRestart(mode: "stop" | "kill" = "stop", order: readonly string[] = this.#slots.map((slot) => slot.id)): Promise<void> {
    return rollingRestartOf(this, mode, order);
  }

  /** Freezes instance `id` with SIGSTOP of its process group: its sockets stay open, it answers nothing. */
  pauseInstance(id: string): Promise<void> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      this.#log("pause", { instance: id });
      if (!slot.process) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${id} has no process to pause`);
      slot.process.pause();
    });
  }

  /** Thaws a paused instance with SIGCONT. */
  resumeInstance(id: string): Promise<void> {
    return this.#serial(async () => {
      const slot = this.#slot(id);
      this.#log("resume", { instance: id });
      if (!slot.process) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${id} has no process to resume`);
      slot.process.resume();
    });
  }

  /**
   * Applies a packet fault to both directions of instance `id`'s link (its veth pair). Needs `capabilities.packetFaults`
   * and a runtime started with `networkNamespaces`; rejects with `HARNESS_ERR_UNSUPPORTED` otherwise.
   */
  impairLink(id: string, impairment: PacketImpairment): Promise<void> {
    const slot = this.#slot(id);
    if (!this.#network || !slot.link) {
      return Promise.reject(new HarnessError("HARNESS_ERR_UNSUPPORTED", `a packet fault on ${id} needs the instance in a network namespace: start the runtime with networkNamespaces: true (local runtime, as root, standalone Redis)`));
    }
    this.#log("impair link", { instance: id, ...impairment });
    return this.#network.impair(id, impairment);
  }

  /**
   * Silences the Redis connections instance `id` holds (its veth pair drops their packets, both ways) while new ones
   * get through, until `healLink`. Needs the instance in a network namespace, as {@link impairLink}.
   */
  async silenceLinks(id: string): Promise<number[]> {
    const slot = this.#slot(id);
    if (!this.#network || !slot.link) {
      throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `silencing the Redis links of ${id} needs the instance in a network namespace: start the runtime with networkNamespaces: true (local runtime, as root, standalone Redis)`);
    }
    const ports = await this.#network.silence(id);
    this.#log("silence links", { instance: id, ports });
    return ports;
  }

  /** The TCP counters of instance `id`'s namespace (what packet faults did to its connections). */
  linkCounters(id: string): Promise<TcpCounters> {
    this.#slot(id);
    if (!this.#network) return Promise.reject(new HarnessError("HARNESS_ERR_UNSUPPORTED", `instance ${id} runs outside a network namespace`));
    return this.#network.tcpCounters(id);
  }

  /** Removes instance `id`'s packet fault (idempotent). */
  healLink(id: string): Promise<void> {
    this.#slot(id);
    this.#log("heal link", { instance: id });
    return this.#network?.heal(id) ?? Promise.resolve();
  }

  /** Unsupported locally: every process shares the host's network, so there is nothing to cut below the proxy. */
  disconnectInstance(id: string): Promise<void> {
    return Promise.reject(networkPartitionUnsupported("disconnectInstance", id));
  }

  /** Unsupported locally; see {@link disconnectInstance}. */
  reconnectInstance(id: string): Promise<void> {
    return Promise.reject(networkPartitionUnsupported("reconnectInstance", id));
  }

  /**
   * Restarts Redis with data loss: SIGKILL, then a fresh empty server on the same port. Standalone only; the
   * proxies keep pointing at the same address, so gateways reconnect by themselves.
   */
  restartRedis(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#redis) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has no Redis yet");
      const { downMs } = await this.#redis.restart(() => this.#emit({ type: "redis_restart", target: "redis", detail: { phase: "killed" } }));
      this.#emit({ type: "redis_restart", target: "redis", detail: { phase: "started", downMs } });
    });
  }

  /**
   * Kills the Sentinel-watched primary (or, on a cluster, a master with a replica) and waits for the promotion of
   * its replica, then brings the killed node back as a replica on its port (so its proxies point at a live node
   * again). Needs `--redis sentinel` or `cluster`.
   */
  failoverRedis(): Promise<Record<string, unknown>> {
    return this.#serial(async () => {
      if (!this.#redis) throw new HarnessError("HARNESS_ERR_INVALID_STATE", "the topology has no Redis yet");
      const report = await this.#redis.failover();
      this.#emit({ type: "redis_failover", target: "redis", detail: { ...report } });
      return { ...report };
    });
  }

  /** Tears down gateways, then proxies and the proxy server, then the network namespaces, then Redis; idempotent. */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      await this.#op.catch(() => undefined);
      const gateways: TeardownItem[] = this.#slots.flatMap((slot) => {
        const process = slot.process;
        return process ? [{ name: `gateway ${slot.id} (pid ${process.pid})`, stop: () => process.stop({ timeoutMs: STOP_GRACE_MS }) }] : [];
      });
      const toxiproxy: TeardownItem[] = this.#toxiproxyServer ? [{ name: `toxiproxy server (pid ${this.#toxiproxyServer.pid})`, stop: () => this.#toxiproxyServer!.stop() }] : [];
      // After the gateways (a process inside keeps its namespace) and the proxies (listening on the host ends).
      const network: TeardownItem[] = this.#network ? [{ name: "network namespaces", stop: () => this.#network!.stop() }] : [];
      const redis: TeardownItem[] = this.#redis ? this.#redis.teardown() : [];
      try {
        await teardownInOrder([gateways, toxiproxy, network, redis]);
      } finally {
        this.#emit({ type: "topology_stopped" });
      }
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
