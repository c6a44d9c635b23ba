import { readFileSync } from "node:fs";
import { eventsOf } from "../events/run-events.js";
import type { SlowConsumerStats } from "../load/slow-consumers.js";
import type { CheckResult } from "../report/run-result.js";
import type { Check } from "./check.js";

/** The reference gateway's default `MAX_BUFFERED_BYTES` (docs/protocol.md), used when the run does not set it. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * What the kernel may hold for one stalled socket before the gateway's own buffer grows, bytes: the gateway's send
 * buffer (`net.ipv4.tcp_wmem` max) plus the stalled reader's receive buffer (`net.ipv4.tcp_rmem` max: on loopback
 * it autotunes up even while nothing is read; measured: 14 MiB routed to a paused reader left 0.2 MiB in the
 * gateway). Read from /proc when it can be; 36 MiB (Linux's defaults, 4 + 32 MiB) otherwise. A fault that routed less
 * than this plus the bound to each stalled client cannot tell a bounded gateway from an unbounded one, so the check
 * refuses to pass it.
 */
export function kernelBufferSlackBytes(): number {
  const max = (file: string, fallback: number) => {
    try {
      return Number(readFileSync(file, "utf8").trim().split(/\s+/)[2]) || fallback;
    } catch {
      return fallback;
    }
  };
  return max("/proc/sys/net/ipv4/tcp_wmem", 4 * 1024 * 1024) + max("/proc/sys/net/ipv4/tcp_rmem", 32 * 1024 * 1024);
}
/** Close code of a socket shed as a slow consumer (docs/protocol.md). */
const SLOW_CONSUMER_CLOSE_CODE = 4008;
/** Envelope of a `message` frame around its payload (type, id, from, session id), bytes; generous. */
const FRAME_OVERHEAD_BYTES = 1_024;
/**
 * RSS the gateway may grow by during the fault besides the stalled sockets' buffers, bytes: V8 heap growth from
 * parsing and serialising the routes (each route body is read and a frame string made per target) before a
 * collection returns it, and the young generation's growth: measured 40-82 MB on this 2-core machine for the
 * reference gateway (hence 128 MiB), against 535 MB for one that buffers without bound (`unbounded-send-buffer`),
 * which grows by the whole backlog.
 */
export const RSS_SLACK_BYTES = 128 * 1024 * 1024;

/** Bounds {@link judgeSlowConsumers} applies. */
export interface SlowConsumerBounds {
  /** The gateway's `MAX_BUFFERED_BYTES`. @default 4 MiB */
  maxBufferedBytes?: number;
}

/**
 * `slow-consumer`: with clients that stopped reading while messages were routed to them, the gateway (1) shed every
 * stalled client (its record gone before the fault ended), (2) never held more than `MAX_BUFFERED_BYTES` plus one
 * frame for one socket (its `traffic_cop_send_buffer_max_bytes`, sampled every 200 ms), (3) kept serving the reader
 * in the same session (every acknowledged route received once, no route failed) and (4) grew its RSS by at most the
 * stalled sockets' bound plus {@link RSS_SLACK_BYTES}. The fault must route enough to overflow the kernel's buffers ({@link kernelBufferSlackBytes})
 * and the bound, or the check fails as inconclusive.
 */
export function judgeSlowConsumers(stats: SlowConsumerStats, bounds: SlowConsumerBounds = {}): CheckResult {
  const maxBuffered = bounds.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const frameBytes = stats.message_bytes + FRAME_OVERHEAD_BYTES;
  const perSocketBound = maxBuffered + frameBytes;
  const needed = kernelBufferSlackBytes() + maxBuffered + frameBytes;
  const rssGrowth = stats.gateway.rss_max_bytes !== null && stats.gateway.rss_start_bytes !== null ? stats.gateway.rss_max_bytes - stats.gateway.rss_start_bytes : null;
  const rssBound = stats.consumers * perSocketBound + RSS_SLACK_BYTES;
  const failures: string[] = [];
  if (stats.reader.closed_code !== null) {
    failures.push(
      stats.reader.closed_code === SLOW_CONSUMER_CLOSE_CODE
        ? "inconclusive: the reader itself was shed as a slow consumer (4008): the harness did not read fast enough (starved of CPU), so this fault judged nothing"
        : `the reader was closed (code ${stats.reader.closed_code}) during the fault`,
    );
  }
  if (stats.bytes_per_consumer < needed) failures.push(`inconclusive: ${stats.bytes_per_consumer} bytes routed to each stalled client, less than the ${needed} needed to overflow kernel buffers and the bound`);
  if (stats.stalled.shed !== stats.consumers) failures.push(`${stats.stalled.kept} of ${stats.consumers} stalled clients were never shed`);
  if (stats.gateway.send_buffer_max_bytes > perSocketBound) failures.push(`a socket held ${stats.gateway.send_buffer_max_bytes} unsent bytes, above ${perSocketBound}`);
  if (stats.reader.lost > 0 || stats.reader.duplicates > 0 || stats.route_errors > 0) failures.push(`the reader lost ${stats.reader.lost} and got ${stats.reader.duplicates} twice; ${stats.route_errors} routes failed`);
  if (rssGrowth !== null && rssGrowth > rssBound) failures.push(`gateway RSS grew by ${rssGrowth} bytes, above ${rssBound}`);
  return {
    name: "slow-consumer",
    pass: failures.length === 0,
    expected: {
      stalled_shed: stats.consumers,
      send_buffer_max_bytes: `<= MAX_BUFFERED_BYTES + one frame = ${perSocketBound}`,
      reader_lost: 0,
      rss_growth_bytes: `<= consumers x (MAX_BUFFERED_BYTES + frame) + ${RSS_SLACK_BYTES} = ${rssBound}`,
    },
    actual: { stalled_shed: stats.stalled.shed, send_buffer_max_bytes: stats.gateway.send_buffer_max_bytes, reader_lost: stats.reader.lost, rss_growth_bytes: rssGrowth },
    evidence: { failures, stats },
  };
}

/** The `slow-consumer` check of a run: every `slow_consumers` fault's detail, judged by {@link judgeSlowConsumers}. */
export const slowConsumer: Check = async (context) => {
  const t0 = Date.now();
  const runs = eventsOf(context.events, "fault", "fault_end")
    .filter((e) => e.kind === "slow_consumers")
    .flatMap((e) => Object.values((e.detail?.consumers ?? {}) as Record<string, SlowConsumerStats>));
  const results = runs.map((stats) => judgeSlowConsumers(stats, { maxBufferedBytes: context.thresholds.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES }));
  return {
    name: "slow-consumer",
    pass: results.length > 0 && results.every((r) => r.pass),
    expected: results[0]?.expected ?? { slow_consumers_faults: ">= 1" },
    actual: { faults: results.length, failed: results.filter((r) => !r.pass).length },
    evidence: results.length > 0 ? results.map((r) => r.evidence) : { reason: "no slow_consumers fault ran" },
    duration_ms: Date.now() - t0,
  };
};
