/**
 * Stalls of the harness's own event loop, and what they mean for a verdict.
 *
 * The harness process carries the clients' side of a local run: the Toxiproxy-compatible server whose proxies sit
 * between the fleet and every gateway (and Redis), the recorder, the probes. While its event loop stands still
 * (a long synchronous stretch, or the process starved of CPU on a loaded machine), nothing passes those proxies: a
 * gateway's ping waits there, and a gateway that misses a pong for one heartbeat rightly terminates the socket as
 * half-open. A failure near such a stall may be the harness's and not the system under test's, so every stall of at
 * least {@link STALL_REPORT_MS} is recorded as a `harness_stall` probe event, and the run's summary warns when one
 * lasted at least the profile's heartbeat period.
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
 * Calls `onStall(from, durationMs)` for every stretch of at least `reportMs` in which this process's event loop ran
 * nothing (`from`: epoch ms it began). Returns the function that stops watching.
 */
export function watchLoopStalls(onStall: (from: number, durationMs: number) => void, reportMs = STALL_REPORT_MS): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    // The timer was due STALL_SAMPLE_MS after the last run; anything beyond that the loop could not run it.
    const late = now - last - STALL_SAMPLE_MS;
    last = now;
    if (late >= reportMs) {
      const durationMs = Math.round(late);
      onStall(Date.now() - durationMs, durationMs);
    }
  }, STALL_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The warning of a run's summary when the harness stalled for at least the heartbeat period `heartbeatMs`, or
 * undefined. Names the longest stall and how many reached the period.
 */
export function stallWarning(events: readonly RunEvent[], heartbeatMs: number | undefined): string | undefined {
  if (heartbeatMs === undefined) return undefined;
  let count = 0;
  let longest: { from: number; duration_ms: number } | undefined;
  for (const event of events) {
    if (event.source !== "probe" || event.type !== "harness_stall" || event.duration_ms < heartbeatMs) continue;
    count++;
    if (!longest || event.duration_ms > longest.duration_ms) longest = event;
  }
  if (!longest) return undefined;
  return (
    `the harness's own event loop stood still ${count === 1 ? "once" : `${count} times`} for at least the heartbeat period (${heartbeatMs} ms), ` +
    `longest ${longest.duration_ms} ms from ${new Date(longest.from).toISOString()}: clients' pongs could not pass meanwhile, so sockets a ` +
    `gateway terminated then, and failures that follow from it, may be the harness's doing (a loaded machine), not the system under test's`
  );
}
