/**
 * Stalls of the harness's processes' event loops, and what they mean for a verdict.
 *
 * Three kinds of process of ours sit on the system under test's paths or beside them: the harness process (its
 * recorder, probes and state audit), the fleet's workers (their clients answer the gateways' pings) and, in a local
 * run, the Toxiproxy-compatible server's own process (harness/runtime/toxiproxy-process.ts), whose proxies sit between
 * every gateway and Redis and, where the scenario proxies them, between the fleet and the gateways. While a loop
 * stands still (a long synchronous stretch, or the process starved of CPU on a loaded machine), what it carries
 * waits: a gateway's ping waits in a stalled proxy or worker, and a gateway that misses a pong for one heartbeat
 * rightly terminates the socket as half-open. A failure near such a stall may be ours and not the system under
 * test's, so every stall of at least {@link STALL_REPORT_MS} is recorded as a `harness_stall` probe event, the run's
 * summary warns when one lasted at least the profile's heartbeat period, and `degraded-mode` does not count against
 * the gateway the sockets such a stall of the clients' path explains ({@link explainingStall}).
 */
import type { RunEvent } from "../events/run-events.js";

/** Period of the watching timer, ms: short enough to time a stall to within this much, cheap enough to run always. */
export const STALL_SAMPLE_MS = 50;
/**
 * Shortest stall recorded, ms: half the shortest heartbeat period of our profiles (500 ms), so that every stall
 * that could cost a pong is on record, while the ordinary lateness of a busy loop (tens of ms) is not.
 */
export const STALL_REPORT_MS = 250;

/**
 * Calls `onStall(from, durationMs)` for every stretch of at least {@link STALL_REPORT_MS} in which this process's
 * event loop ran nothing (`from`: epoch ms it began). Returns the function that stops watching.
 */
export function watchLoopStalls(onStall: (from: number, durationMs: number) => void): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    // The timer was due STALL_SAMPLE_MS after the last run; anything beyond that the loop could not run it.
    const late = now - last - STALL_SAMPLE_MS;
    last = now;
    if (late >= STALL_REPORT_MS) {
      const durationMs = Math.round(late);
      onStall(Date.now() - durationMs, durationMs);
    }
  }, STALL_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Whose stall: the harness process, the proxy server, or a fleet worker by index. */
type StallOwner = "harness" | "proxy" | number;

/** The longest of some stalls and how many there were. */
interface StallTally {
  count: number;
  longest: { from: number; duration_ms: number };
}

function tally(tallies: Map<StallOwner, StallTally>, key: StallOwner, event: { from: number; duration_ms: number }): void {
  const known = tallies.get(key);
  if (!known) tallies.set(key, { count: 1, longest: event });
  else {
    known.count++;
    if (event.duration_ms > known.longest.duration_ms) known.longest = event;
  }
}

const times = (count: number) => (count === 1 ? "once" : `${count} times`);
const longestOf = (t: StallTally) => `longest ${t.longest.duration_ms} ms from ${new Date(t.longest.from).toISOString()}`;

/**
 * The warning of a run's summary when the harness process, the proxy server or a fleet worker stalled for at least
 * the heartbeat period `heartbeatMs`, or undefined. Names the longest stall of each and how many reached the period:
 * the proxy server carries the gateways' Redis links of a local run, a worker's clients answer the gateways' pings
 * (at most three workers are named, the one with the longest stall first).
 */
export function stallWarning(events: readonly RunEvent[], heartbeatMs: number | undefined): string | undefined {
  if (heartbeatMs === undefined) return undefined;
  const tallies = new Map<StallOwner, StallTally>();
  for (const event of events) {
    if (event.source !== "probe" || event.type !== "harness_stall" || event.duration_ms < heartbeatMs) continue;
    tally(tallies, event.proxy ? "proxy" : (event.worker ?? "harness"), event);
  }
  if (tallies.size === 0) return undefined;
  const parts: string[] = [];
  const proxy = tallies.get("proxy");
  if (proxy) {
    parts.push(
      `the proxy server's event loop stood still ${times(proxy.count)} for at least the heartbeat period (${heartbeatMs} ms), ${longestOf(proxy)}: ` +
        `nothing passed its proxies meanwhile (the gateways' Redis links, and the clients' links where proxied)`,
    );
  }
  const own = tallies.get("harness");
  if (own) {
    parts.push(
      `the harness's own event loop stood still ${times(own.count)} for at least the heartbeat period (${heartbeatMs} ms), ${longestOf(own)}: ` +
        `its probes and recorder waited`,
    );
  }
  const workers = [...tallies.entries()]
    .filter((entry): entry is [number, StallTally] => typeof entry[0] === "number")
    .sort((a, b) => b[1].longest.duration_ms - a[1].longest.duration_ms);
  if (workers.length > 0) {
    const named = workers.slice(0, 3).map(([worker, t]) => `worker ${worker} ${times(t.count)}, ${longestOf(t)}`);
    if (workers.length > 3) named.push(`${workers.length - 3} more`);
    parts.push(
      `${workers.length === 1 ? "a fleet worker's event loop" : `${workers.length} fleet workers' event loops`} stood still for at least the heartbeat ` +
        `period (${heartbeatMs} ms) (${named.join("; ")}): ${workers.length === 1 ? "its" : "their"} clients answered no pings meanwhile`,
    );
  }
  return `${parts.join("; ")}, so failures near it may be the loaded machine's, not the system under test's`;
}

/**
 * How long the harness process's own loop stood still within [`from`, `to`] (epoch ms), by its `harness_stall`
 * events (not the proxy server's nor a worker's). A latency the harness measured over that span includes this
 * much of its own waiting: the answer may have come meanwhile, and was read only once the loop ran again. The stalls
 * as measured, each an underestimate by up to {@link STALL_SAMPLE_MS} (its start is seen a sampling period late).
 */
export function ownStallWithin(stalls: readonly StallSpan[], from: number, to: number): number {
  let held = 0;
  for (const s of stalls) {
    if (s.worker !== undefined || s.proxy) continue;
    held += Math.max(0, Math.min(to, s.from + s.duration_ms) - Math.max(from, s.from));
  }
  return held;
}

/** What {@link ownStallWithin} reads of a `harness_stall` event. */
export type StallSpan = { from: number; duration_ms: number; worker?: number; proxy?: boolean };

/** How {@link judgeOwnLatency} judges a latency. */
export interface OwnLatencyJudgement {
  late: boolean;
  excused: boolean;
  /** The harness process's own stalls within the wait, ms. */
  heldMs: number;
}

/** The judgement of a wait that never ended (no answer, a record never found gone): late, and nothing excuses it. */
export const NEVER_ENDED: Readonly<OwnLatencyJudgement> = Object.freeze({ late: true, excused: false, heldMs: 0 });

/**
 * Judges a latency the harness measured from `sentAt` against `boundMs`: `late` only when it is over the bound by
 * more than the harness process's own stalls meanwhile (`heldMs`, {@link ownStallWithin}); `excused` when it is
 * over the bound by no more than them. The rule of every fail-fast and cleanup bound the harness times itself.
 * Without `sentAt` (an event recorded before it was) the span is unknown and nothing is excused.
 */
export function judgeOwnLatency(stalls: readonly StallSpan[], sentAt: number | undefined, latencyMs: number, boundMs: number): OwnLatencyJudgement {
  if (latencyMs <= boundMs) return { late: false, excused: false, heldMs: 0 };
  const heldMs = sentAt === undefined ? 0 : ownStallWithin(stalls, sentAt, sentAt + latencyMs);
  const excused = latencyMs - heldMs <= boundMs;
  return { late: !excused, excused, heldMs };
}

/**
 * Slack between a stall as measured and the pong it cost, ms: the watcher times a stall to within one sampling
 * period (it may have begun up to {@link STALL_SAMPLE_MS} before it was seen), plus a loopback round trip through a
 * proxy and the fleet, which is well under the other 50 ms.
 */
export const STALL_PONG_SLACK_MS = 100;

/**
 * The stall of the clients' path that explains a socket closed without a close code (1006) at `t`, if any: one of
 * at least the heartbeat period `heartbeatMs` (less {@link STALL_PONG_SLACK_MS}), so that a ping sent just before it
 * found no pong by the next heartbeat, and `t` between its start and one heartbeat after its end (the gateway
 * terminates at a heartbeat during the stall; the fleet sees the close once frames move again). Only stalls with
 * `client_path` count: otherwise the fleet's frames did not pass the harness; a fleet worker's stall (`worker`) counts
 * only for the sockets of that worker (`closedBy`), whose pongs it answers.
 */
export function explainingStall(
  stalls: readonly { from: number; duration_ms: number; client_path: boolean; worker?: number }[],
  t: number,
  heartbeatMs: number,
  closedBy?: number,
): { from: number; duration_ms: number; worker?: number } | undefined {
  return stalls.find(
    (s) => s.client_path && (s.worker === undefined || s.worker === closedBy) && s.duration_ms >= heartbeatMs - STALL_PONG_SLACK_MS && t >= s.from && t <= s.from + s.duration_ms + heartbeatMs,
  );
}
