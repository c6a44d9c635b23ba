import { setTimeout as delay } from "node:timers/promises";
import { retryUntil } from "../common/retry.js";
import { compareRegistry, isClean, strandedIds, type RegistryComparison } from "../checks/no-ghosts.js";
import { eventsOf, healStart, isEventOf, type RunEvent, type RunEventOf } from "../events/run-events.js";
import { liveConnections, type ProbeContext } from "./probe-context.js";

/** How often the registry is read while the instance is frozen and while it recovers, in ms (at least). */
const POLL_INTERVAL_MS = 250;

/**
 * The wait before the next read: a full registry read of thousands of connections is itself load on Redis and
 * on the harness, so the probe reads at most a third of the time (twice the last read's duration of rest).
 */
function pause(started: number): number {
  return Math.max(POLL_INTERVAL_MS, 2 * (Date.now() - started));
}

/** Options of {@link probeWake}. */
export interface ProbeWakeOptions {
  /** How long to wait for a freeze to be in effect, in ms. @default 10000 */
  waitForFreezeMs?: number;
  /** How long after the wake to look for the registry to equal the live connections, in ms. @default 15000 */
  recoverTimeoutMs?: number;
}

// In effect: applied (every target is stopped) and not yet ended (the resume comes right before fault_end).
function openFreeze(events: readonly RunEvent[]): RunEventOf<"fault", "fault_applied"> | undefined {
  const ended = new Set(eventsOf(events, "fault", "fault_end").map((e) => e.fault_id));
  return eventsOf(events, "fault", "fault_applied").find((e) => e.kind === "freeze_instance" && !ended.has(e.fault_id));
}

/** One read of the frozen instance's records: when it began and ended (epoch ms) and how many it found. */
export interface FrozenRead {
  at: number;
  done: number;
  records: number;
}

/**
 * What the reads made during a freeze say about the frozen state: only reads answered before the wake began
 * (`healStartedAt`, `fault_end.heal_started_at`) count. The targets are resumed one after another and `fault_end`
 * comes after the last, so a read answered in between may already see a woken instance writing its records again.
 */
export function frozenState(reads: readonly FrozenRead[], healStartedAt: number): { minRecords: number | null; lastRead: { at: number; records: number } | null } {
  const frozen = reads.filter((r) => r.done < healStartedAt);
  const last = frozen.at(-1);
  return {
    minRecords: frozen.length > 0 ? Math.min(...frozen.map((r) => r.records)) : null,
    lastRead: last ? { at: last.at, records: last.records } : null,
  };
}

function summary(c: RegistryComparison): NonNullable<RunEventOf<"probe", "pause_wake">["last"]> {
  const counts = (m: Record<string, string[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.length]));
  return { live: c.live, records: c.records, ghosts: counts(c.ghosts), missing: counts(c.missing), misplaced: c.misplaced.length };
}

/**
 * Runs while an instance is frozen (a background `Fault.freezeInstance`): reads Redis directly until the freeze
 * ends, keeping the fewest records that name a frozen instance (did they expire or get reaped?); once the instance
 * is resumed, polls until the registry equals the fleet's live connections one to one (every client still on the
 * woken instance registered there again, every client that moved registered where it went, no record naming an
 * instance that no longer holds the socket), and records `pause_wake` with `recovered_after_ms` (`null` when not
 * within the timeout). `pause-recovery` judges it.
 */
export async function probeWake(context: ProbeContext, options: ProbeWakeOptions = {}): Promise<void> {
  const signal = context.signal ? { signal: context.signal } : {};
  const freeze = await retryUntil(
    async () => openFreeze(context.events),
    (found) => found !== undefined,
    () => new Error("no freeze"),
    { timeoutMs: options.waitForFreezeMs ?? 10_000, intervalMs: 20, ...signal },
  ).catch((error: unknown) => {
    if ((error as { code?: string }).code === "HARNESS_ERR_ABORTED") throw error;
    return undefined;
  });
  if (!freeze) {
    context.record({ type: "pause_probe_skipped", reason: "no freeze was in effect: put Step.fault(Fault.freezeInstance(...), { background: true }) before this step" });
    return;
  }
  const targets = new Set(freeze.targets);
  const heldAtPause = liveConnections(context.events).filter((c) => targets.has(c.instance_id) && c.opened <= freeze.t).length;
  const reads: FrozenRead[] = [];
  const ended = () => context.events.find((e): e is RunEventOf<"fault", "fault_end"> => isEventOf(e, "fault", "fault_end") && e.fault_id === freeze.fault_id);
  while (!ended()) {
    const started = Date.now();
    try {
      const counts = await context.registry.counts();
      const n = freeze.targets.reduce((sum, id) => sum + (counts.by_instance[id] ?? 0), 0);
      // A read that straddles the wake says nothing about the frozen state: judged once the wake's start is known.
      reads.push({ at: started, done: Date.now(), records: n });
    } catch {
      // Redis itself may be faulted meanwhile; the next read tries again.
    }
    await delay(pause(started), undefined, signal);
  }
  const woke = ended()!;
  const { minRecords, lastRead } = frozenState(reads, healStart(woke));
  let last: RegistryComparison | undefined;
  let recoveredAt: number | undefined;
  let uncleanAt: number | undefined;
  const deadline = woke.t + (options.recoverTimeoutMs ?? 15_000);
  for (;;) {
    const started = Date.now();
    try {
      last = compareRegistry(context.events, await context.registry.read(), strandedIds(context.events));
      if (isClean(last)) {
        // The read that saw it clean began at `started`: the registry was whole by then at the latest.
        recoveredAt = started;
        break;
      }
      uncleanAt = started;
    } catch {
      // As above: the next read tries again.
    }
    if (Date.now() >= deadline) break;
    await delay(pause(started), undefined, signal);
  }
  context.record({
    type: "pause_wake",
    fault_id: freeze.fault_id,
    targets: [...freeze.targets],
    paused_at: freeze.t,
    woke_at: woke.t,
    held_at_pause: heldAtPause,
    min_records_while_frozen: minRecords,
    last_frozen_read: lastRead,
    recovered_after_ms: recoveredAt === undefined ? null : recoveredAt - woke.t,
    unrecovered_read_after_ms: uncleanAt === undefined ? null : uncleanAt - woke.t,
    last: last ? summary(last) : null,
  });
}
