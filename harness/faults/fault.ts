/**
 * Faults as data: a scenario step names a fault with a factory (`Fault.killInstance()`, `Fault.partition()`, ...);
 * the engine resolves its instance selector with the run's seed and runs it through {@link FaultRunner}. Every
 * fault is an interval on the run's timeline (`fault_start` / `fault_end` events).
 */

/**
 * Which instance(s) a fault hits:
 * - an instance id (`"gw-2"`);
 * - `"random"`: one instance picked with the run's seed;
 * - `"distinct"`: one instance picked with the seed among those no earlier fault of the run has picked
 *   (e.g. kill one, then SIGTERM another);
 * - `"all"`: every instance.
 */
export type InstanceSelector = string;

/**
 * A staggered partition's margin, ms: the first instance's liveness lapses at least this long after the others are
 * cut and this long before theirs, so a harness that stands still for less cannot miss the window between.
 */
export const STAGGER_MARGIN_MS = 600;
/**
 * How long after the others the first instance of a staggered partition gets Redis back, ms: past the others'
 * reconnect backoff (the reference gateway's is at most 500 ms), and well inside a liveness TTL (at least 1 s).
 */
export const STAGGER_LAST_BACK_MS = 1_500;

/** Form of a Redis partition through the proxy. */
export type PartitionForm =
  /** Proxy disabled: connections cut, new ones refused. */
  | "disable"
  /** `timeout` toxic with timeout 0: a black hole; sockets stay open, nothing gets through. */
  | "blackhole"
  /** `reset_peer` toxic: connections reset (TCP RST). */
  | "reset"
  /**
   * Below the proxy: the instance's container leaves the network it shares with the proxy and Redis (`docker
   * network disconnect`), so its Redis packets go nowhere (no reset, no answer) while clients still reach it on
   * its published port. Needs a runtime with `capabilities.networkPartition` (containers).
   */
  | "network";

/**
 * What a client-link fault does to the link between the fleet and an instance (through the instance's client proxy):
 * - `latency`: adds `latencyMs` each way;
 * - `bandwidth`: limits each direction to `rateKbps` KB/s;
 * - `reset`: resets every connection (TCP RST), also new ones, for the duration;
 * - `blackhole`: sockets stay open but nothing gets through either way (half-open clients, as a dead NAT or a
 *   pulled cable leaves them).
 */
export type ClientLinkForm = "latency" | "bandwidth" | "reset" | "blackhole";

/**
 * What a packet fault does to the packets of an instance's own link (its veth pair, every connection of the instance:
 * its clients and its Redis traffic), `percent` of them in each direction:
 * - `loss`: dropped where they arrive, so the sender retransmits (TCP's retransmission timer, 200 ms at least);
 * - `duplicate`: sent twice (TCP drops the copy and tells the sender with a D-SACK);
 * - `reorder`: held back on a slow path while later packets overtake them (TCP reassembles).
 */
export type PacketForm = "loss" | "duplicate" | "reorder";

/**
 * How long a gateway may take to serve again after the Redis connections it holds went silent without a reset
 * ({@link Fault.staleLinks}), in ms: the reference gateway drops a connection silent for three command timeouts (3 s;
 * it pings an idle one every second, src/registry/redis-link-watchdog.ts), looks every second, reconnects within its
 * 500 ms backoff and rewrites its records at once; where survivors reaped them meanwhile (a liveness TTL shorter than
 * that), a reap landing after the rewrite is undone by its next heartbeat. 4.5 s at worst on an idle machine, and
 * room for a loaded one; a gateway that waits for TCP to give up takes minutes.
 */
export const STALE_LINK_RECOVERY_MS = 8_000;

/** Longest clock offset a skew fault may set, in ms (one hour: "minutes ahead or behind", with room). */
export const MAX_CLOCK_SKEW_MS = 3_600_000;
/** Most slow consumers one fault may open (it is a bounded probe, not a load). */
export const MAX_SLOW_CONSUMERS = 1_000;

/** Every fault the harness injects. `durationMs` faults heal by themselves after that time. */
export type Fault =
  | { kind: "kill_instance"; target: InstanceSelector }
  | { kind: "stop_instance"; target: InstanceSelector }
  | { kind: "start_instance"; target: InstanceSelector }
  | { kind: "restart_instance"; target: InstanceSelector; mode: "kill" | "stop"; downMs: number }
  | { kind: "rolling_restart"; mode: "kill" | "stop"; pauseMs: number }
  | { kind: "partition"; target: InstanceSelector; form: PartitionForm; durationMs: number; staggered?: { lastBackMs: number } }
  | { kind: "latency"; target: InstanceSelector; latencyMs: number; jitterMs: number; durationMs: number }
  | { kind: "bandwidth"; target: InstanceSelector; rateKbps: number; durationMs: number }
  | { kind: "freeze_instance"; target: InstanceSelector; durationMs: number }
  | { kind: "redis_restart" }
  | { kind: "redis_failover" }
  | { kind: "connection_flood"; target: InstanceSelector; connections: number; ratePerSecond: number; durationMs: number }
  | { kind: "clock_skew"; target: InstanceSelector; offsetMs: number; durationMs: number }
  | { kind: "client_link"; target: InstanceSelector; form: ClientLinkForm; latencyMs: number; rateKbps: number; durationMs: number }
  | { kind: "slow_consumers"; target: InstanceSelector; consumers: number; messageBytes: number; ratePerSecond: number; durationMs: number }
  | { kind: "packet_fault"; target: InstanceSelector; form: PacketForm; percent: number; durationMs: number }
  | { kind: "stale_links"; target: InstanceSelector; durationMs: number };

/** The kinds of {@link Fault}. */
export type FaultKind = Fault["kind"];

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new TypeError(`${name} must be a ${allowZero ? "non-negative" : "positive"} number (got ${value})`);
  return value;
}

/** Factories of {@link Fault} values; they validate their arguments and return frozen data. */
export const Fault = Object.freeze({
  /** SIGKILL one instance (a crash: it unregisters nothing). */
  killInstance(target: InstanceSelector = "random"): Fault {
    return Object.freeze({ kind: "kill_instance", target });
  },
  /** SIGTERM one instance: it drains (reconnect notices, close 1012) and must exit with code 0. */
  stopInstance(target: InstanceSelector = "random"): Fault {
    return Object.freeze({ kind: "stop_instance", target });
  },
  /** Start a stopped or killed instance again on its port; `"killed"`-style selectors resolve to an id. */
  startInstance(target: InstanceSelector): Fault {
    return Object.freeze({ kind: "start_instance", target });
  },
  /** Kill or stop an instance, keep it down `downMs`, start it again on the same port. @default mode "stop", downMs 0 */
  restartInstance(options: { target?: InstanceSelector; mode?: "kill" | "stop"; downMs?: number } = {}): Fault {
    return Object.freeze({ kind: "restart_instance", target: options.target ?? "random", mode: options.mode ?? "stop", downMs: positive("downMs", options.downMs ?? 0, true) });
  },
  /** A rolling deploy: restart every instance in turn, each ready before the next goes down. @default mode "stop", pauseMs 0 */
  rollingRestart(options: { mode?: "kill" | "stop"; pauseMs?: number } = {}): Fault {
    return Object.freeze({ kind: "rolling_restart", mode: options.mode ?? "stop", pauseMs: positive("pauseMs", options.pauseMs ?? 0, true) });
  },
  /**
   * Cut instance(s) off Redis through their proxy for `durationMs`. @default target "all", form "disable"
   *
   * `staggered` (form `disable`, two instances or more): an outage every instance meets before any liveness lapses,
   * ended so that the first instances back find another's liveness lapsed. The first target is cut first; the others
   * once its liveness key (`P:instance:I:alive`, read from Redis) will lapse at least {@link STAGGER_MARGIN_MS}
   * before theirs (their last refresh came after its), and no later than that margin before it lapses. When its key
   * is gone the others get Redis back at once, it `lastBackMs` later (default {@link STAGGER_LAST_BACK_MS}; keep it
   * under the SUT's liveness TTL). No instance was dead, and the first ones back must not reap it while it
   * reconnects. `durationMs` bounds the whole; where no liveness key is found (a SUT without them) it is a plain
   * partition of every target.
   */
  partition(options: { target?: InstanceSelector; form?: PartitionForm; durationMs: number; staggered?: boolean | { lastBackMs?: number } }): Fault {
    const form = options.form ?? "disable";
    if (options.staggered && form !== "disable") throw new TypeError(`a staggered partition cuts through the proxies' disable form (got ${form})`);
    return Object.freeze({
      kind: "partition",
      target: options.target ?? "all",
      form,
      durationMs: positive("durationMs", options.durationMs),
      ...(options.staggered
        ? { staggered: { lastBackMs: positive("lastBackMs", (typeof options.staggered === "object" ? options.staggered.lastBackMs : undefined) ?? STAGGER_LAST_BACK_MS) } }
        : {}),
    });
  },
  /**
   * Freeze instance(s) for `durationMs` without closing a socket, as a long GC pause would (`docker pause`, then
   * `unpause`). Needs a runtime with `capabilities.pause`. @default target "random"
   */
  freezeInstance(options: { target?: InstanceSelector; durationMs: number }): Fault {
    return Object.freeze({ kind: "freeze_instance", target: options.target ?? "random", durationMs: positive("durationMs", options.durationMs) });
  },
  /** Add latency ± jitter (ms) between instance(s) and Redis, both directions. @default target "all", jitterMs 0 */
  latency(options: { target?: InstanceSelector; latencyMs: number; jitterMs?: number; durationMs: number }): Fault {
    return Object.freeze({
      kind: "latency",
      target: options.target ?? "all",
      latencyMs: positive("latencyMs", options.latencyMs),
      jitterMs: positive("jitterMs", options.jitterMs ?? 0, true),
      durationMs: positive("durationMs", options.durationMs),
    });
  },
  /** Limit the bandwidth between instance(s) and Redis to `rateKbps` KB/s, both directions. @default target "all" */
  bandwidth(options: { target?: InstanceSelector; rateKbps: number; durationMs: number }): Fault {
    return Object.freeze({ kind: "bandwidth", target: options.target ?? "all", rateKbps: positive("rateKbps", options.rateKbps), durationMs: positive("durationMs", options.durationMs) });
  },
  /** Restart Redis with data loss (SIGKILL, then a fresh empty server on the same port). */
  redisRestart(): Fault {
    return Object.freeze({ kind: "redis_restart" });
  },
  /**
   * Kill the Redis primary under load (SIGKILL) and let the sentinels promote its replica; the killed node comes
   * back empty as the new replica. Writes acknowledged just before the kill may be lost (asynchronous replication):
   * the gateways must follow the sentinels and reconcile the registry. Bounded by the promotion timeout (20 s).
   * Needs `capabilities.redisFailover` (`--redis sentinel`).
   */
  redisFailover(): Fault {
    return Object.freeze({ kind: "redis_failover" });
  },
  /** A bounded flood of WebSocket connects against instance(s). @default target "all" */
  connectionFlood(options: { target?: InstanceSelector; connections: number; ratePerSecond: number; durationMs: number }): Fault {
    return Object.freeze({
      kind: "connection_flood",
      target: options.target ?? "all",
      connections: positive("connections", options.connections),
      ratePerSecond: positive("ratePerSecond", options.ratePerSecond),
      durationMs: positive("durationMs", options.durationMs),
    });
  },
  /**
   * Skew the wall clock of instance(s) by `offsetMs` (positive: ahead, negative: behind) for `durationMs`: each is
   * drained and started again under libfaketime (`LD_PRELOAD`, `FAKETIME`; monotonic clocks untouched), then, at the
   * end, drained and started again on the true clock. Needs a runtime with `capabilities.clockSkew` (local, and
   * containers, whose gateway image carries the host's libfaketime) and Debian's `faketime` package. @default target "random"
   */
  clockSkew(options: { target?: InstanceSelector; offsetMs: number; durationMs: number }): Fault {
    const offsetMs = options.offsetMs;
    if (!Number.isInteger(offsetMs) || offsetMs === 0 || Math.abs(offsetMs) > MAX_CLOCK_SKEW_MS) {
      throw new TypeError(`offsetMs must be a non-zero integer of at most ${MAX_CLOCK_SKEW_MS} ms either way (got ${offsetMs})`);
    }
    return Object.freeze({ kind: "clock_skew", target: options.target ?? "random", offsetMs, durationMs: positive("durationMs", options.durationMs) });
  },
  /**
   * Fail the clients' own links to instance(s) for `durationMs`, through the client proxy in front of each instance
   * (the runtime's `clientProxies` option): see {@link ClientLinkForm}. `latencyMs` is for `latency`, `rateKbps`
   * for `bandwidth`. @default target "random"
   */
  clientLink(options: { target?: InstanceSelector; form: ClientLinkForm; latencyMs?: number; rateKbps?: number; durationMs: number }): Fault {
    const { form } = options;
    if (!["latency", "bandwidth", "reset", "blackhole"].includes(form)) throw new TypeError(`form must be latency, bandwidth, reset or blackhole (got ${JSON.stringify(form)})`);
    if (form === "latency" && options.latencyMs === undefined) throw new TypeError("a latency client-link fault needs latencyMs");
    if (form === "bandwidth" && options.rateKbps === undefined) throw new TypeError("a bandwidth client-link fault needs rateKbps");
    return Object.freeze({
      kind: "client_link",
      target: options.target ?? "random",
      form,
      latencyMs: form === "latency" ? positive("latencyMs", options.latencyMs!) : 0,
      rateKbps: form === "bandwidth" ? positive("rateKbps", options.rateKbps!) : 0,
      durationMs: positive("durationMs", options.durationMs),
    });
  },
  /**
   * Open `consumers` clients on instance(s) that stop reading, next to one client that keeps reading in the same
   * session, and route `ratePerSecond` messages of `messageBytes` to that session over HTTP for `durationMs`: the
   * gateway must shed the stalled ones (close 4008) and keep serving the reader. The driver records what happened
   * (`fault_end.detail`, judged by the `slow-consumer` check). @default target "random", messageBytes 16384,
   * ratePerSecond 200
   */
  slowConsumers(options: { target?: InstanceSelector; consumers: number; messageBytes?: number; ratePerSecond?: number; durationMs: number }): Fault {
    const consumers = positive("consumers", options.consumers);
    if (!Number.isInteger(consumers) || consumers > MAX_SLOW_CONSUMERS) throw new TypeError(`consumers must be an integer in 1..${MAX_SLOW_CONSUMERS} (got ${consumers})`);
    return Object.freeze({
      kind: "slow_consumers",
      target: options.target ?? "random",
      consumers,
      messageBytes: positive("messageBytes", options.messageBytes ?? 16_384),
      ratePerSecond: positive("ratePerSecond", options.ratePerSecond ?? 200),
      durationMs: positive("durationMs", options.durationMs),
    });
  },
  /**
   * Drop `percent` of the packets on instance(s)' own links, both directions, for `durationMs` (where they arrive: the
   * sender retransmits). Needs `capabilities.packetFaults` (local runtime as root: the instances run in network
   * namespaces of the run's own). @default target "random"
   */
  packetLoss(options: { target?: InstanceSelector; percent: number; durationMs: number }): Fault {
    return packetFault("loss", options);
  },
  /** Send `percent` of the packets on instance(s)' own links twice, both directions. As {@link packetLoss}. */
  packetDuplication(options: { target?: InstanceSelector; percent: number; durationMs: number }): Fault {
    return packetFault("duplicate", options);
  },
  /** Hold `percent` of the packets on instance(s)' own links back so that later ones overtake them, both directions. As {@link packetLoss}. */
  packetReordering(options: { target?: InstanceSelector; percent: number; durationMs: number }): Fault {
    return packetFault("reorder", options);
  },
  /**
   * Silence the Redis connections instance(s) hold when it starts, for `durationMs`: every packet of them is dropped
   * where it arrives, both directions, without a reset, while connections opened later get through. A NAT or
   * stateful firewall between gateway and Redis that forgot its flows does this, as does a Redis host whose address
   * moved on to another: the old connections stay open, and answer nothing, until TCP gives up (minutes). A gateway
   * must notice and connect again. Needs `capabilities.packetFaults`, as {@link packetLoss}. @default target "random"
   */
  staleLinks(options: { target?: InstanceSelector; durationMs: number }): Fault {
    return Object.freeze({ kind: "stale_links", target: options.target ?? "random", durationMs: positive("durationMs", options.durationMs) });
  },
});

function packetFault(form: PacketForm, options: { target?: InstanceSelector; percent: number; durationMs: number }): Fault {
  const percent = options.percent;
  // 0.01 % steps: the rules draw a random number below 10,000.
  if (!Number.isFinite(percent) || percent < 0.01 || percent > 100) throw new TypeError(`percent must be a number in 0.01..100 (got ${percent})`);
  return Object.freeze({ kind: "packet_fault", target: options.target ?? "random", form, percent, durationMs: positive("durationMs", options.durationMs) });
}

/** A one-line human description of a fault, e.g. `kill_instance gw-2`. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case "kill_instance":
    case "stop_instance":
    case "start_instance":
      return `${fault.kind} ${fault.target}`;
    case "restart_instance":
      return `restart_instance ${fault.target} (${fault.mode}, down ${fault.downMs}ms)`;
    case "rolling_restart":
      return `rolling_restart (${fault.mode})`;
    case "partition":
      return `partition ${fault.target} (${fault.form}${fault.staggered ? ", staggered" : ""}, ${fault.durationMs}ms)`;
    case "freeze_instance":
      return `freeze_instance ${fault.target} (${fault.durationMs}ms)`;
    case "latency":
      return `latency ${fault.target} (${fault.latencyMs}±${fault.jitterMs}ms, ${fault.durationMs}ms)`;
    case "bandwidth":
      return `bandwidth ${fault.target} (${fault.rateKbps}KB/s, ${fault.durationMs}ms)`;
    case "redis_restart":
      return "redis_restart";
    case "redis_failover":
      return "redis_failover";
    case "connection_flood":
      return `connection_flood ${fault.target} (${fault.connections} at ${fault.ratePerSecond}/s)`;
    case "clock_skew":
      return `clock_skew ${fault.target} (${fault.offsetMs > 0 ? "+" : ""}${fault.offsetMs}ms, ${fault.durationMs}ms)`;
    case "client_link": {
      const what = fault.form === "latency" ? `latency ${fault.latencyMs}ms` : fault.form === "bandwidth" ? `bandwidth ${fault.rateKbps}KB/s` : fault.form;
      return `client_link ${fault.target} (${what}, ${fault.durationMs}ms)`;
    }
    case "packet_fault":
      return `packet_fault ${fault.target} (${fault.form} ${fault.percent}%, ${fault.durationMs}ms)`;
    case "stale_links":
      return `stale_links ${fault.target} (${fault.durationMs}ms)`;
    case "slow_consumers":
      return `slow_consumers ${fault.target} (${fault.consumers} stalled, ${fault.ratePerSecond}/s of ${fault.messageBytes}B, ${fault.durationMs}ms)`;
  }
}

/** The runtime capability a fault needs beyond the common ones (see `RuntimeCapabilities`), if any. */
export function requiredCapability(fault: Fault): "pause" | "networkPartition" | "redisRestart" | "redisFailover" | "clockSkew" | "clientProxies" | "packetFaults" | undefined {
  if (fault.kind === "packet_fault" || fault.kind === "stale_links") return "packetFaults";
  if (fault.kind === "redis_failover") return "redisFailover";
  if (fault.kind === "freeze_instance") return "pause";
  if (fault.kind === "clock_skew") return "clockSkew";
  if (fault.kind === "client_link") return "clientProxies";
  if (fault.kind === "partition" && fault.form === "network") return "networkPartition";
  if (fault.kind === "redis_restart") return "redisRestart";
  return undefined;
}
