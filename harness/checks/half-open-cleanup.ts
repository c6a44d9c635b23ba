import { eventsOf } from "../events/run-events.js";
import { judgeOwnLatency, type StallSpan } from "../recorder/loop-stalls.js";
import type { CheckResult } from "../report/run-result.js";
import type { Check } from "./check.js";

/**
 * Longest a group-committed record removal may take after the socket closed, in ms: the gateway's Redis command
 * bound (docs/protocol.md "Bounds": commands fail after at most 1000 ms), which covers the write batch window (the
 * end of the event-loop turn, or the group in flight) and the round trip.
 */
export const REMOVAL_WINDOW_MS = 1_000;
/** Period of the run's registry samples, in ms (the recorder samples once a second): the check's resolution. */
export const SAMPLE_PERIOD_MS = 1_000;

/** One reading of how many records name the black-holed instance. */
export interface InstanceRecordSample {
  /** Epoch ms. */
  t: number;
  records: number;
}

/** What {@link judgeHalfOpenCleanup} judges. */
export interface HalfOpenCleanupInput {
  instance: string;
  /** When the black hole took effect (`fault_applied`), epoch ms. */
  appliedAt: number;
  /** When it was healed (`fault_end`), epoch ms. */
  endedAt: number;
  heartbeatIntervalMs: number;
  /** Records naming the instance, read straight from Redis during the fault. */
  samples: readonly InstanceRecordSample[];
  /** How far apart the samples are, in ms. @default {@link SAMPLE_PERIOD_MS} */
  samplePeriodMs?: number;
  /**
   * The run's `harness_stall` events. The samples are read by the harness process: while its loop stands still no
   * sample is taken, so records cleared in time are seen cleared only once it runs again.
   */
  stalls?: readonly StallSpan[];
}

/**
 * `half-open-cleanup`: while the clients' link to an instance is a black hole (their sockets stay open, nothing gets
 * through), the gateway must find every one of them half-open and remove its record within `2H + W` of the black
 * hole (H the heartbeat interval: the first ping after the cut goes unanswered, the next heartbeat terminates; W =
 * {@link REMOVAL_WINDOW_MS} for the removal), read at the samples' resolution. Inconclusive (failed) when the
 * instance held no record at the cut or the black hole ended before the bound. Records first seen cleared after the
 * bound only by the time the harness process's own loop stood still meanwhile (the samples wait on it) are listed
 * apart, not failed (`judgeOwnLatency`, the rule of every cleanup bound the harness times itself); records still
 * there when the black hole ended are never excused.
 */
export function judgeHalfOpenCleanup(input: HalfOpenCleanupInput): CheckResult {
  const boundMs = 2 * input.heartbeatIntervalMs + REMOVAL_WINDOW_MS;
  const resolution = input.samplePeriodMs ?? SAMPLE_PERIOD_MS;
  const during = input.samples.filter((s) => s.t >= input.appliedAt && s.t <= input.endedAt);
  const atCut = input.samples.filter((s) => s.t <= input.appliedAt).at(-1)?.records ?? during[0]?.records ?? 0;
  const cleared = during.find((s) => s.records === 0);
  const clearedAfterMs = cleared ? cleared.t - input.appliedAt : null;
  const lastLeft = during.at(-1)?.records ?? atCut;
  const failures: string[] = [];
  if (atCut === 0) failures.push(`inconclusive: ${input.instance} held no record when its clients' link was cut`);
  if (input.endedAt - input.appliedAt < boundMs + resolution) failures.push(`inconclusive: the black hole lasted ${input.endedAt - input.appliedAt} ms, not longer than the bound ${boundMs} ms plus a sample`);
  const judged = clearedAfterMs === null ? undefined : judgeOwnLatency(input.stalls ?? [], input.appliedAt, clearedAfterMs, boundMs + resolution);
  if (clearedAfterMs === null) failures.push(`${lastLeft} of ${atCut} records of half-open clients were still there when the black hole ended`);
  else if (judged?.late) {
    const held = judged.heldMs > 0 ? ` (${judged.heldMs} ms of it the harness's own loop standing still)` : "";
    failures.push(`records cleared ${clearedAfterMs} ms after the cut${held}, past ${boundMs} ms (+${resolution} ms sampling)`);
  }
  return {
    name: "half-open-cleanup",
    pass: failures.length === 0,
    expected: { records_cleared_within_ms: `2H + W = 2 x ${input.heartbeatIntervalMs} + ${REMOVAL_WINDOW_MS} = ${boundMs} (+${resolution} sampling)` },
    actual: {
      instance: input.instance,
      records_at_cut: atCut,
      cleared_after_ms: clearedAfterMs,
      left_at_end: cleared ? 0 : lastLeft,
      ...(judged?.excused ? { late_explained_by_harness_stalls_ms: judged.heldMs } : {}),
    },
    evidence: { failures, samples: during.slice(0, 40) },
  };
}

/** The `half-open-cleanup` check of a run: every `client_link` black hole, judged from the per-second registry samples. */
export const halfOpenCleanup: Check = async (context) => {
  const t0 = Date.now();
  const applied = eventsOf(context.events, "fault", "fault_applied").filter((e) => e.kind === "client_link" && e.description.includes("blackhole"));
  const ends = eventsOf(context.events, "fault", "fault_end");
  const stalls = eventsOf(context.events, "probe", "harness_stall");
  const results = applied.flatMap((start) => {
    const end = ends.find((e) => e.fault_id === start.fault_id);
    return start.targets.map((instance) =>
      judgeHalfOpenCleanup({
        instance,
        appliedAt: start.t,
        endedAt: end?.t ?? Date.now(),
        heartbeatIntervalMs: context.heartbeatIntervalMs,
        samples: context.samples.flatMap((s) => ("by_instance" in s.registry ? [{ t: s.t, records: s.registry.by_instance[instance] ?? 0 }] : [])),
        stalls,
      }),
    );
  });
  return {
    name: "half-open-cleanup",
    pass: results.length > 0 && results.every((r) => r.pass),
    expected: results[0]?.expected ?? { client_link_blackholes: ">= 1" },
    actual: results.map((r) => r.actual),
    evidence: results.length > 0 ? results.map((r) => r.evidence) : { reason: "no client_link black hole ran" },
    duration_ms: Date.now() - t0,
  };
};
