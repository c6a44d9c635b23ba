/**
 * The `chaos` scenario's schedule: a seeded random sequence of faults drawn from one declarative pool
 * ({@link CHAOS_FAULTS}), in the spirit of Jepsen's combined nemesis. Same seed, profile and runtime capabilities:
 * the same schedule. A new fault kind is one entry of the pool: its name, a group, a weight, the runtime capability
 * it needs, and the steps of one draw (the fault plus the probe that lets its check judge it).
 *
 * Faults run one after the other, each bounded in time and healing by itself, separated by seeded gaps: each check
 * attributes what it sees to the one fault in effect (the fault windows of `delivery`, the probes of `degraded-mode`
 * and `pause-recovery` which wait for their own fault's heal and recovery before the next fault starts).
 */
import { deriveSeed, SeededRandom } from "../common/random.js";
import { Fault, STALE_LINK_RECOVERY_MS, type PacketForm, type PartitionForm } from "../faults/fault.js";
import type { RuntimeCapabilities } from "../runtime/runtime.js";
import type { ResolvedProfile } from "./define-scenario.js";
import { Step } from "./step.js";

/** A runtime capability a pool entry may need (see `RuntimeCapabilities`). */
export type ChaosCapability = "pause" | "redisRestart" | "networkPartition" | "redisFailover" | "clockSkew" | "clientProxies" | "packetFaults";

/** One draw of a pool entry: its steps, its parameters (for the record) and the longest it may take. */
export interface ChaosDraw {
  steps: Step[];
  /** The drawn parameters, recorded in the schedule. */
  params: Record<string, number | string>;
  /** Upper estimate of how long the steps take, in ms: what the draw costs of the time budget. */
  budgetMs: number;
}

/** One kind of fault the chaos schedule may draw. */
export interface ChaosFaultEntry {
  /** Name in the schedule and in its phase (`chaos-3-kill`), kebab-case. */
  readonly name: string;
  /**
   * Faults of one group exercise the same checks; a `groups` coverage draws one entry of every group before filling
   * the budget (so every check is exercised in every run), an `entries` coverage every entry.
   */
  readonly group: string;
  /** Relative chance of being drawn. */
  readonly weight: number;
  /** The runtime capability the fault needs; without it the entry is left out and listed in `skipped`. */
  readonly needs?: ChaosCapability;
  /** The steps of one draw: parameters from `random`, sizes and bounds from the profile. */
  draw(random: SeededRandom, p: ResolvedProfile): ChaosDraw;
}

/** Time a restarted instance takes to be ready and its clients to be back, on 2 loaded cores (tsx start ~0.5 s). */
const RESTART_BUDGET_MS = 4_000;

/** `"all"` or one seeded instance: both forms of every per-instance fault get drawn. */
function target(random: SeededRandom): string {
  return random.chance(0.5) ? "random" : "all";
}

function partition(form: PartitionForm, needs?: ChaosCapability): ChaosFaultEntry {
  return {
    name: `partition-${form}`,
    group: "partition",
    weight: 1,
    ...(needs ? { needs } : {}),
    draw(random, p) {
      // Longer than two heartbeats so that every cut instance meets the partition on a write too.
      const durationMs = Math.max(2_000, 2 * p.heartbeatIntervalMs) + random.int(1_001);
      const on = target(random);
      return {
        steps: [
          Step.fault(Fault.partition({ target: on, form, durationMs }), { background: true }),
          Step.probeDegradedMode({ rounds: 2, reconcileTimeoutMs: p.thresholds.settleBoundMs }),
        ],
        params: { target: on, form, duration_ms: durationMs },
        budgetMs: durationMs + p.thresholds.settleBoundMs,
      };
    },
  };
}

/** The pool: every fault the runtime has, one entry each. */
export const CHAOS_FAULTS: readonly ChaosFaultEntry[] = Object.freeze([
  {
    name: "kill",
    group: "process",
    weight: 3,
    draw(random, p) {
      const downMs = 300 + random.int(1_201);
      return {
        steps: [Step.fault(Fault.restartInstance({ target: "random", mode: "kill", downMs })), Step.awaitConnected({ timeoutMs: 2 * p.thresholds.reconnectBoundMs })],
        params: { down_ms: downMs },
        budgetMs: downMs + RESTART_BUDGET_MS,
      };
    },
  },
  {
    name: "drain",
    group: "process",
    weight: 3,
    draw(random, p) {
      const downMs = 300 + random.int(1_201);
      return {
        steps: [Step.fault(Fault.restartInstance({ target: "random", mode: "stop", downMs })), Step.awaitConnected({ timeoutMs: 2 * p.thresholds.reconnectBoundMs })],
        params: { down_ms: downMs },
        budgetMs: p.drainTimeoutMs + downMs + RESTART_BUDGET_MS,
      };
    },
  },
  {
    name: "rolling-deploy",
    group: "process",
    weight: 1,
    draw(random, p) {
      const mode = random.chance(0.5) ? "stop" : "kill";
      return {
        steps: [Step.fault(Fault.rollingRestart({ mode, pauseMs: 300 })), Step.awaitConnected({ timeoutMs: 2 * p.thresholds.reconnectBoundMs })],
        params: { mode },
        budgetMs: p.instances * (p.drainTimeoutMs + RESTART_BUDGET_MS),
      };
    },
  },
  {
    name: "freeze",
    group: "freeze",
    weight: 2,
    needs: "pause",
    draw(random, p) {
      // From half a TTL (the liveness key expires, survivors reap) to two TTLs (every record expires by TTL too).
      const durationMs = Math.round(p.connectionTtlMs / 2) + random.int(Math.round((3 * p.connectionTtlMs) / 2) + 1);
      const recoverMs = 4 * p.heartbeatIntervalMs + 5_000;
      return {
        steps: [Step.fault(Fault.freezeInstance({ target: "random", durationMs }), { background: true }), Step.probeWake({ recoverTimeoutMs: recoverMs }), Step.awaitBackground()],
        params: { duration_ms: durationMs },
        budgetMs: durationMs + 2 * p.heartbeatIntervalMs + 1_000,
      };
    },
  },
  partition("disable"),
  partition("blackhole"),
  partition("reset"),
  partition("network", "networkPartition"),
  {
    name: "latency",
    group: "link",
    weight: 1,
    draw(random, p) {
      const latencyMs = 20 + random.int(81);
      const jitterMs = random.int(Math.floor(latencyMs / 2) + 1);
      const durationMs = 1_500 + random.int(Math.max(1, p.durationS * 50) + 1);
      const on = target(random);
      return {
        steps: [Step.fault(Fault.latency({ target: on, latencyMs, jitterMs, durationMs }))],
        params: { target: on, latency_ms: latencyMs, jitter_ms: jitterMs, duration_ms: durationMs },
        budgetMs: durationMs,
      };
    },
  },
  {
    name: "bandwidth",
    group: "link",
    weight: 1,
    draw(random, p) {
      // Scaled with the fleet, whose heartbeat batches and routes grow with it; at least 32 KB/s (as `latency`).
      const rateKbps = Math.max(32, Math.ceil(p.clients / 20)) * (1 + random.int(2));
      const durationMs = 1_500 + random.int(Math.max(1, p.durationS * 50) + 1);
      const on = target(random);
      return {
        steps: [Step.fault(Fault.bandwidth({ target: on, rateKbps, durationMs }))],
        params: { target: on, rate_kbps: rateKbps, duration_ms: durationMs },
        budgetMs: durationMs,
      };
    },
  },
  {
    name: "packets",
    group: "link",
    weight: 1,
    needs: "packetFaults",
    draw(random, p) {
      // An instance's own link (its clients and its Redis traffic) loses, duplicates or reorders packets. Loss stays
      // at 1-3 %: with this profile's short heartbeat a pong may be retransmitted only once before the next one,
      // and a socket closed for it is the gateway doing its job, not a finding (packet-loss judges up to 5 % at H = 1 s).
      const forms: readonly PacketForm[] = ["loss", "duplicate", "reorder"];
      const form = forms[random.int(forms.length)]!;
      const percent = form === "loss" ? 1 + random.int(3) : 2 + random.int(9);
      const durationMs = 1_500 + random.int(Math.max(1, p.durationS * 50) + 1);
      const on = target(random);
      const fault = form === "loss" ? Fault.packetLoss : form === "duplicate" ? Fault.packetDuplication : Fault.packetReordering;
      return {
        steps: [Step.fault(fault({ target: on, percent, durationMs }))],
        params: { target: on, form, percent, duration_ms: durationMs },
        budgetMs: durationMs,
      };
    },
  },
  {
    name: "stale-links",
    group: "link",
    weight: 1,
    needs: "packetFaults",
    draw(random, p) {
      // An instance's open Redis connections go silent while new ones get through: lookups through every instance,
      // once the recovery bound has passed and the old connections are still silent, show that it connected again.
      const durationMs = STALE_LINK_RECOVERY_MS + 3_000 + random.int(2_001);
      const on = target(random);
      return {
        steps: [
          Step.fault(Fault.staleLinks({ target: on, durationMs }), { background: true }),
          Step.hold(STALE_LINK_RECOVERY_MS),
          Step.probeLookups({ maxConnections: p.clients >= 1_000 ? 30 : 6 }),
          Step.awaitBackground(),
        ],
        params: { target: on, duration_ms: durationMs },
        budgetMs: durationMs + p.thresholds.settleBoundMs,
      };
    },
  },
  {
    name: "redis-restart",
    group: "redis",
    weight: 1,
    needs: "redisRestart",
    draw(_random, p) {
      return {
        // The registry is whole again within two heartbeats of the restart (as in `redis-restart`).
        steps: [Step.fault(Fault.redisRestart()), Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs }), Step.hold(2 * p.heartbeatIntervalMs)],
        params: {},
        budgetMs: 1_500 + 2 * p.heartbeatIntervalMs,
      };
    },
  },
  {
    name: "flood",
    group: "flood",
    weight: 1,
    draw(random, p) {
      const big = p.clients >= 1_000;
      const connections = (big ? 2_000 : 150) * (1 + random.int(2));
      const durationMs = big ? 20_000 : 3_000;
      return {
        steps: [Step.fault(Fault.connectionFlood({ target: "all", connections, ratePerSecond: big ? 200 : 20, durationMs }))],
        params: { connections, duration_ms: durationMs },
        budgetMs: durationMs,
      };
    },
  },
  {
    name: "half-open",
    group: "client",
    weight: 1,
    draw(random, p) {
      const count = (p.clients >= 1_000 ? 20 : 3) + random.int(4);
      return {
        steps: [Step.strandConnections({ count, how: "cut" })],
        params: { count },
        budgetMs: 1_000,
      };
    },
  },
  {
    name: "client-latency",
    group: "client",
    weight: 1,
    needs: "clientProxies",
    draw(random, p) {
      // The clients' own links slow down (the proxy in front of one instance, or of all): pings, routes and acks late.
      const latencyMs = 50 + random.int(151);
      const durationMs = 1_500 + random.int(Math.max(1, p.durationS * 50) + 1);
      const on = target(random);
      return {
        steps: [Step.fault(Fault.clientLink({ target: on, form: "latency", latencyMs, durationMs }))],
        params: { target: on, latency_ms: latencyMs, duration_ms: durationMs },
        budgetMs: durationMs,
      };
    },
  },
  {
    name: "client-blackhole",
    group: "client",
    weight: 1,
    needs: "clientProxies",
    draw(random, p) {
      // Every client of one instance half-open: the gateway must find out by its heartbeat (2H) and clean up; the
      // clients' own pings time out and they reconnect once the link heals.
      const durationMs = 2 * p.heartbeatIntervalMs + 1_000 + random.int(2_001);
      return {
        steps: [Step.fault(Fault.clientLink({ target: "random", form: "blackhole", durationMs })), Step.awaitConnected({ timeoutMs: 2 * p.thresholds.reconnectBoundMs })],
        params: { duration_ms: durationMs },
        budgetMs: durationMs + RESTART_BUDGET_MS,
      };
    },
  },
  {
    name: "slow-consumers",
    group: "slow",
    weight: 1,
    draw(random, p) {
      // Readers that stop reading while routes pour in to them: shed (4008) or, with a short heartbeat, terminated
      // for missed pongs; everyone else must be served as before.
      const consumers = (p.clients >= 1_000 ? 10 : 2) + random.int(3);
      const durationMs = 3_000 + random.int(2_001);
      return {
        steps: [Step.fault(Fault.slowConsumers({ target: "random", consumers, messageBytes: 60_000, ratePerSecond: 200, durationMs }))],
        params: { consumers, duration_ms: durationMs },
        budgetMs: durationMs + 1_000,
      };
    },
  },
  {
    name: "clock-skew",
    group: "clock",
    weight: 1,
    needs: "clockSkew",
    draw(random, p) {
      // One instance restarted on a wall clock 10 s to 2 min ahead or behind; live records must not look expired.
      const offsetMs = (random.chance(0.5) ? 1 : -1) * (10_000 + random.int(110_001));
      const observeMs = 2 * p.connectionTtlMs;
      const durationMs = p.thresholds.reconnectBoundMs + observeMs + 2_000;
      return {
        steps: [
          Step.fault(Fault.clockSkew({ target: "random", offsetMs, durationMs }), { background: true }),
          Step.probeClockSkew({ observeMs, endSkew: true }),
          Step.awaitBackground(),
          Step.awaitConnected({ timeoutMs: 2 * p.thresholds.reconnectBoundMs }),
        ],
        params: { offset_ms: offsetMs, duration_ms: durationMs },
        budgetMs: durationMs + 2 * RESTART_BUDGET_MS,
      };
    },
  },
  {
    name: "redis-failover",
    group: "redis",
    weight: 1,
    needs: "redisFailover",
    draw(_random, p) {
      // The Redis primary (or a cluster master) killed; its replica promoted; the registry must converge again.
      const timeoutMs = p.connectionTtlMs + p.heartbeatIntervalMs + 5_000;
      return {
        steps: [Step.fault(Fault.redisFailover()), Step.probeConvergence({ timeoutMs }), Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs })],
        params: {},
        budgetMs: 8_000 + timeoutMs,
      };
    },
  },
] satisfies ChaosFaultEntry[]);

/** Options of {@link drawChaosSchedule}. */
export interface ChaosScheduleOptions {
  seed: number;
  profile: ResolvedProfile;
  capabilities: RuntimeCapabilities;
  /** Time the faults and gaps may take, in ms; the covering draws always run, further draws only while they fit. */
  budgetMs: number;
  /** `groups`: one draw of every group first (ci); `entries`: one draw of every entry first (release). */
  coverage: "groups" | "entries";
  /** Quiet time between two faults, drawn in [min, max] ms. */
  gapMs: readonly [number, number];
  /** @default CHAOS_FAULTS */
  pool?: readonly ChaosFaultEntry[];
  /**
   * Longest one draw may take, in ms: entries whose draws take longer (a rolling deploy of every instance) are left
   * out and listed in `skipped`, so that a short profile keeps its wall-time bound. @default Infinity
   */
  maxDrawMs?: number;
}

/** One drawn fault of a {@link ChaosSchedule}. */
export interface ChaosScheduleEntry {
  /** 1-based position. */
  index: number;
  name: string;
  group: string;
  /** Planned offset from the first fault, in ms (an estimate: the budgets of earlier draws and gaps). */
  at_ms: number;
  budget_ms: number;
  /** Quiet time before it, in ms. */
  gap_before_ms: number;
  params: Record<string, number | string>;
}

/** The record of a drawn schedule (JSON; in run.json's plan and as the engine's `schedule` event). */
export interface ChaosSchedule {
  seed: number;
  coverage: "groups" | "entries";
  budget_ms: number;
  /** Sum of every draw's budget and gap, in ms. */
  planned_ms: number;
  entries: ChaosScheduleEntry[];
  /** Pool entries left out: the runtime lacks what they need, or a draw takes longer than `maxDrawMs`. */
  skipped: { name: string; needs?: ChaosCapability; reason: string }[];
}

function weighted(random: SeededRandom, entries: readonly ChaosFaultEntry[]): ChaosFaultEntry {
  let at = random.next() * entries.reduce((sum, e) => sum + e.weight, 0);
  for (const entry of entries) {
    at -= entry.weight;
    if (at < 0) return entry;
  }
  return entries.at(-1)!;
}

/**
 * Draws the schedule: the covering draws in a seeded order, then weighted draws while the budget allows, each
 * preceded by a seeded gap. Returns the record and, per entry, its steps (a phase `chaos-<n>-<name>` first).
 */
export function drawChaosSchedule(options: ChaosScheduleOptions): { schedule: ChaosSchedule; steps: Step[][] } {
  const pool = options.pool ?? CHAOS_FAULTS;
  const random = new SeededRandom(deriveSeed(options.seed, "chaos"));
  const skipped: ChaosSchedule["skipped"] = [];
  const maxDrawMs = options.maxDrawMs ?? Number.POSITIVE_INFINITY;
  const available = pool.filter((e) => {
    if (e.needs !== undefined && !options.capabilities[e.needs]) {
      skipped.push({ name: e.name, needs: e.needs, reason: `the runtime lacks the capability ${e.needs}` });
      return false;
    }
    // A trial draw on a stream of its own, so the check shifts no choice of the schedule.
    const trial = e.draw(new SeededRandom(deriveSeed(options.seed, "chaos-trial", e.name)), options.profile).budgetMs;
    if (trial > maxDrawMs) {
      skipped.push({ name: e.name, reason: `one draw takes about ${trial} ms, more than this profile's ${maxDrawMs} ms per fault` });
      return false;
    }
    return true;
  });
  if (available.length === 0) throw new RangeError("the chaos pool has no entry this runtime can run");
  const covering =
    options.coverage === "entries"
      ? random.shuffle(available)
      : random.shuffle([...new Set(available.map((e) => e.group))]).map((group) => weighted(random, available.filter((e) => e.group === group)));
  const entries: ChaosScheduleEntry[] = [];
  const steps: Step[][] = [];
  let used = 0;
  const add = (entry: ChaosFaultEntry, gap: number, draw: ChaosDraw) => {
    const index = entries.length + 1;
    entries.push({ index, name: entry.name, group: entry.group, at_ms: used + gap, budget_ms: draw.budgetMs, gap_before_ms: gap, params: draw.params });
    steps.push([Step.hold(gap), Step.phase(`chaos-${index}-${entry.name}`), ...draw.steps]);
    used += gap + draw.budgetMs;
  };
  const [minGap, maxGap] = options.gapMs;
  for (const entry of covering) add(entry, random.intBetween(minGap, maxGap), entry.draw(random, options.profile));
  for (;;) {
    const entry = weighted(random, available);
    const gap = random.intBetween(minGap, maxGap);
    const draw = entry.draw(random, options.profile);
    if (used + gap + draw.budgetMs > options.budgetMs || draw.budgetMs > maxDrawMs) break;
    add(entry, gap, draw);
  }
  return {
    schedule: { seed: options.seed, coverage: options.coverage, budget_ms: options.budgetMs, planned_ms: used, entries, skipped },
    steps,
  };
}
