/**
 * The topology a scenario runs on, as the engine, the fault runner, the fleet, the probes and the registry reader
 * see it. `LocalRuntime` (child processes on 127.0.0.1) is the first implementation; a containers runtime
 * implements the same interface and must pass the same contract suite (`test/helpers/runtime-contract.ts`).
 *
 * Every address a runtime hands out is reachable from the harness process (127.0.0.1, a port published on it, or
 * the address of a network namespace of the run's own).
 */
import type { ToxiproxyFaults, ToxiproxyProxy } from "../faults/toxiproxy-faults.js";
import type { RuntimeEvent } from "../events/run-events.js";
import type { GatewayProcessState, ProcessExit } from "./gateway-process.js";
import type { PacketImpairment, TcpCounters } from "./network-namespaces.js";
import type { ResolvedSutDefinition } from "./sut.js";

/** Which runtime runs the topology (`--runtime`). */
export type RuntimeKind = "local" | "containers";

/**
 * Redis topology of a run: one server, a Redis Cluster of 3 masters with one replica each, or a primary with one replica watched by three
 * sentinels (the gateways follow the sentinels).
 */
export type RedisMode = "standalone" | "cluster" | "sentinel";

/** Registry implementation of the gateways (`REGISTRY`); `memory` is the negative control. */
export type RegistryKind = "redis" | "memory";

/** Options every runtime takes. */
export interface RuntimeOptions {
  /** Run id: tags every process, container, network and proxy the runtime makes. */
  runId: string;
  /** Number of gateway instances (`gw-1` .. `gw-N`). @default 3 */
  instances?: number;
  /** Standalone Redis, a Redis Cluster (3 masters, 1 replica each), or a Sentinel group. @default "standalone" */
  redis?: RedisMode;
  /** The system under test. @default the reference gateway */
  sut?: ResolvedSutDefinition;
  /** `REGISTRY` of every instance. @default "redis" */
  registry?: RegistryKind;
  /** `AUTH_SECRET` of every instance. @default a random secret per run */
  authSecret?: string;
  /** `CONNECTION_TTL_MS`. @default 30000 */
  connectionTtlMs?: number;
  /** `HEARTBEAT_INTERVAL_MS`. @default 10000 */
  heartbeatIntervalMs?: number;
  /** `DRAIN_TIMEOUT_MS`. @default 10000 */
  drainTimeoutMs?: number;
  /** Extra environment for every instance (e.g. `TRAFFIC_COP_DEFECTS` for negative controls). @default {} */
  env?: Record<string, string>;
  /** Address the harness reaches everything on. @default "127.0.0.1" */
  host?: string;
  /**
   * Put one proxy in front of each instance for its clients (`<runId>-<id>-clients`): `targets()` and each
   * instance's `clientUrl` then point at it, so that client-link faults (`Fault.clientLink`) apply. Needs
   * `capabilities.clientProxies`. @default false
   */
  clientProxies?: boolean;
  /**
   * Ready the instances' links for packet faults (`Fault.packetLoss`, `packetDuplication`, `packetReordering`,
   * `staleLinks`). Local: each instance runs in a network namespace of the run's own, joined to the host by a veth
   * pair (`ip netns`), and is reached on its namespace's address (10.201.x.y). Containers: each container is its own
   * namespace already; its links send one segment per packet (containers/container-links.ts). Needs
   * `capabilities.packetFaults`. @default false
   */
  networkNamespaces?: boolean;
  /** Receives process and topology events (state changes, exits, Redis restarts). */
  onEvent?: (event: RuntimeEvent) => void;
  /** Receives every line a gateway prints. */
  onOutput?: (instanceId: string, line: string, stream: "stdout" | "stderr") => void;
}

/** Defaults of {@link RuntimeOptions}. */
export const DEFAULT_RUNTIME_OPTIONS = Object.freeze({
  instances: 3,
  redis: "standalone" as RedisMode,
  registry: "redis" as RegistryKind,
  connectionTtlMs: 30_000,
  heartbeatIntervalMs: 10_000,
  drainTimeoutMs: 10_000,
  host: "127.0.0.1",
});

/** A topology event (defined with every run event in `harness/events/run-events.ts`). */
export type { RuntimeEvent } from "../events/run-events.js";

/** What a caller may know of one gateway instance. */
export interface InstanceInfo {
  readonly id: string;
  /** Port the harness reaches the instance on (for containers: the port published on `host`). */
  readonly port: number;
  /** `http://host:port`. */
  readonly httpUrl: string;
  /** `ws://host:port` (the fleet adds the SUT's path). */
  readonly wsUrl: string;
  readonly state: GatewayProcessState;
  /** Process id where the runtime knows one (the local runtime; a container's main process otherwise). */
  readonly pid: number | undefined;
  /** How many times it has been (re)started. */
  readonly generation: number;
  /** Names of its proxies to Redis. */
  readonly proxies: readonly string[];
  /** `ws://host:port` of its client proxy, when the runtime has client proxies; else equal to `wsUrl`. */
  readonly clientUrl?: string;
  /** Its network namespace, when it runs in one (`networkNamespaces`). */
  readonly namespace?: string;
}

/** Direct (unproxied) address of Redis, reachable from the harness, for the recorder and the checks. */
export interface RedisEndpoint {
  mode: RedisMode;
  /** `redis://host:port`, or a comma list for a cluster. */
  url: string;
  nodes: { host: string; port: number }[];
  /** Sentinel mode: the sentinels' addresses (the data nodes are `nodes`, whichever is primary now). */
  sentinels?: { host: string; port: number }[];
  /** Sentinel mode: the name of the monitored primary. */
  sentinelName?: string;
}

/**
 * What a runtime can do beyond the common faults (kill, stop, start, restart, proxy toxics). A fault that needs a
 * capability the runtime lacks is refused with `HARNESS_ERR_UNSUPPORTED` before the run starts.
 */
export interface RuntimeCapabilities {
  /** `pauseInstance` / `resumeInstance` (SIGSTOP/SIGCONT, `docker pause`). */
  readonly pause: boolean;
  /** `restartRedis` (data loss). */
  readonly redisRestart: boolean;
  /** `disconnectInstance` / `reconnectInstance`: a network partition below the proxy (containers only). */
  readonly networkPartition: boolean;
  /** Redis modes the runtime can start. */
  readonly redisModes: readonly RedisMode[];
  /** `failoverRedis`: kill the Redis primary and let its replica take over (`--redis sentinel`). */
  readonly redisFailover: boolean;
  /** `startInstance(id, { clockOffsetMs })`: an instance on a skewed wall clock (libfaketime, preloaded into its process or its container). @default false */
  readonly clockSkew?: boolean;
  /** `clientProxiesOf`: a proxy between the fleet and each instance, when started with `clientProxies`. @default false */
  readonly clientProxies?: boolean;
  /**
   * `impairLink` / `silenceLinks` / `healLink`: packet loss, duplication and reordering on an instance's own link,
   * and its open Redis connections silenced, in network namespaces of the run's own (as root with `ip`, `nft`, `tc`,
   * standalone Redis; containers: the containers' own, with `nsenter` and `ss` too). @default false
   */
  readonly packetFaults?: boolean;
}

/** Options of one `startInstance`. */
export interface StartInstanceOptions {
  /** Skew of the instance's wall clock in ms (libfaketime), until its next start. @default 0 */
  clockOffsetMs?: number;
}

/** An unstarted topology. */
export interface Runtime {
  readonly kind: RuntimeKind;
  readonly capabilities: RuntimeCapabilities;
  /** Starts Redis, the proxy server, one proxy per instance (per Redis node), then the instances; waits until all are ready. */
  start(): Promise<StartedRuntime>;
}

/** A running topology. `stop()` is idempotent and safe to call concurrently; `await using` stops it. */
export interface StartedRuntime extends AsyncDisposable {
  readonly kind: RuntimeKind;
  readonly capabilities: RuntimeCapabilities;
  readonly runId: string;
  readonly sut: ResolvedSutDefinition;
  readonly authSecret: string;
  /** Address the harness reaches every endpoint on. */
  readonly host: string;
  readonly registry: RegistryKind;
  readonly connectionTtlMs: number;
  readonly heartbeatIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly redisMode: RedisMode;
  /** Direct address of Redis (never through a proxy). */
  readonly redis: RedisEndpoint;
  /** The Toxiproxy API client of this topology (its `apiUrl` is reachable from the harness). */
  readonly toxiproxy: ToxiproxyFaults;
  /** Every instance, in id order. */
  readonly instances: InstanceInfo[];
  /** What run.json's `topology` records beyond the common fields (the containers runtime: its images). */
  readonly topologyDetail?: Readonly<Record<string, unknown>>;
  /** Ids of instances that are started: not paused, stopped or killed. */
  liveInstanceIds(): string[];
  /** WebSocket base URLs of every instance, in id order (the fleet's targets). */
  targets(): string[];
  /** One instance; rejects an unknown id with `HARNESS_ERR_UNKNOWN_INSTANCE`. */
  instance(id: string): InstanceInfo;
  /** The proxies between instance `id` and Redis (one, or one per cluster node). */
  proxiesOf(id: string): readonly ToxiproxyProxy[];
  /** The proxy between the clients and instance `id` (started with `clientProxies`). Needs `capabilities.clientProxies`. */
  clientProxiesOf?(id: string): readonly ToxiproxyProxy[];
  /**
   * Calls `listener` for every stall of the event loop of the process that carries the topology's proxies, when
   * the harness runs that process (local: harness/runtime/toxiproxy-process.ts); returns the function that stops it.
   */
  onProxyStall?(listener: (from: number, durationMs: number) => void): () => void;
  /** Applies a packet fault to both directions of instance `id`'s link. Needs `capabilities.packetFaults` and `networkNamespaces`. */
  impairLink?(id: string, impairment: PacketImpairment): Promise<void>;
  /**
   * Silences the Redis connections instance `id` holds (their packets dropped both ways, no reset) while new ones get
   * through, until `healLink`; resolves with their local ports. Needs `capabilities.packetFaults` and `networkNamespaces`.
   */
  silenceLinks?(id: string): Promise<number[]>;
  /** Removes instance `id`'s packet fault; idempotent. */
  healLink?(id: string): Promise<void>;
  /** TCP counters of instance `id`'s own stack (its namespace), to show what a packet fault did. */
  linkCounters?(id: string): Promise<TcpCounters>;
  /** SIGKILLs instance `id` (a crash: nothing is unregistered). Resolves with its exit. */
  killInstance(id: string): Promise<ProcessExit>;
  /** SIGTERMs instance `id` (drain); rejects with `HARNESS_ERR_INSTANCE_STOP_FAILED` unless it exits 0 in time. */
  stopInstance(id: string): Promise<ProcessExit>;
  /**
   * Starts a stopped or killed instance again on the same address, and waits until it is ready. With
   * `clockOffsetMs` its wall clock runs that far ahead (positive) or behind (negative) until its next start; needs
   * `capabilities.clockSkew`.
   */
  startInstance(id: string, options?: StartInstanceOptions): Promise<InstanceInfo>;
  /** Stops (`"stop"`, drain) or kills (`"kill"`) instance `id`, then starts it again on the same address. */
  restartInstance(id: string, mode?: "stop" | "kill"): Promise<InstanceInfo>;
  /** Restarts every instance in turn (a rolling deploy), each ready before the next goes down. */
  rollingRestart(mode?: "stop" | "kill", order?: readonly string[]): Promise<void>;
  /**
   * Freezes instance `id` without closing a socket (SIGSTOP, `docker pause`); its state is `paused` until
   * {@link resumeInstance}, and stopping or killing it still works. Needs `capabilities.pause`.
   */
  pauseInstance(id: string): Promise<void>;
  /** Thaws a paused instance. Needs `capabilities.pause`. */
  resumeInstance(id: string): Promise<void>;
  /** Cuts instance `id` off the network it shares with Redis (below the proxy). Needs `capabilities.networkPartition`. */
  disconnectInstance(id: string): Promise<void>;
  /** Undoes {@link disconnectInstance}. Needs `capabilities.networkPartition`. */
  reconnectInstance(id: string): Promise<void>;
  /** Restarts Redis with data loss: a fresh empty server on the same address. Needs `capabilities.redisRestart`. */
  restartRedis(): Promise<void>;
  /**
   * Kills the Redis primary (SIGKILL) and waits until its replica is promoted, then brings the killed node back
   * as a replica. Resolves with what happened (promotion time, replication lag). Needs `capabilities.redisFailover`.
   */
  failoverRedis(): Promise<Record<string, unknown>>;
  /** Tears everything down in reverse start order; idempotent. */
  stop(): Promise<void>;
}

/** Rejects options no runtime can honour with a `TypeError` stating the rule (each runtime calls it first). */
export function validateRuntimeOptions(options: RuntimeOptions): void {
  const instances = options.instances ?? DEFAULT_RUNTIME_OPTIONS.instances;
  if (!Number.isInteger(instances) || instances < 1 || instances > 32) throw new TypeError(`instances must be an integer in 1..32 (got ${instances})`);
  if (!/^[A-Za-z0-9_.-]+$/.test(options.runId)) throw new TypeError(`runId must match [A-Za-z0-9_.-]+ (got ${JSON.stringify(options.runId)})`);
}

/** `restartInstance` in terms of kill/stop and start: the same for every runtime. */
export async function restartInstanceOf(runtime: Pick<StartedRuntime, "killInstance" | "stopInstance" | "startInstance">, id: string, mode: "stop" | "kill"): Promise<InstanceInfo> {
  if (mode === "kill") await runtime.killInstance(id);
  else await runtime.stopInstance(id);
  return runtime.startInstance(id);
}

/** `rollingRestart` in terms of `restartInstance`: each instance ready before the next goes down. */
export async function rollingRestartOf(runtime: Pick<StartedRuntime, "restartInstance">, mode: "stop" | "kill", order: readonly string[]): Promise<void> {
  for (const id of order) await runtime.restartInstance(id, mode);
}
