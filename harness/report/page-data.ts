/**
 * What index.html embeds: run.json, cut to what a browser opens quickly, plus the series of the whole history.
 * A 10-minute run of 20,000 clients has millions of events: the page embeds at most {@link PAGE_EVENT_LIMIT} of
 * them and {@link PAGE_SAMPLE_LIMIT} samples, and its latency, scatter and error charts are computed here from
 * every event, streamed from events.ndjson (docs/design.md "Report files"), never held in one array.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { RunEvent } from "../events/run-events.js";
import { readEventLog } from "../recorder/event-log.js";
import type { PageDigest, PageSeries } from "./page/page-digest.js";
import { timeBase, type PageRun } from "./page/run-model.js";
import { ErrorCounter, latencyEventType, scatterPoints, windowedPoints, type LatencyKind } from "./page/time-series.js";
import type { RunResult, Sample } from "./run-result.js";

/**
 * Events the page embeds at most. 10,000 events are about 2.5 MB of JSON that Chromium parses and filters in well
 * under a second on this machine; the table draws 500 rows of them at a time anyway.
 */
export const PAGE_EVENT_LIMIT = 10_000;
/** Samples the page embeds at most: an hour of per-second samples; a longer run's are thinned to a regular stride. */
export const PAGE_SAMPLE_LIMIT = 3_600;

/** Fleet event types kept first when the page must leave events out: connection changes and errors. */
const FLEET_PRIORITY: ReadonlySet<string> = new Set(["connect_error", "disconnect", "reconnect_notice", "message_error"]);
const LATENCY_KINDS: readonly LatencyKind[] = ["ack", "delivery", "connect"];

/** A growable list of numbers in one typed array (a million latencies are 8 MB, not a million heap numbers). */
class NumberList {
  #data = new Float64Array(1_024);
  length = 0;
  push(v: number): void {
    if (this.length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = v;
  }
  view(): Float64Array {
    return this.#data.subarray(0, this.length);
  }
}

/** The charts' series from a stream of every event of the run, and how many events there were. */
export async function seriesOf(events: AsyncIterable<RunEvent> | Iterable<RunEvent>, t0: number, t1: number): Promise<{ series: PageSeries; total: number }> {
  const points = Object.fromEntries(LATENCY_KINDS.map((k) => [latencyEventType(k), { t: new NumberList(), v: new NumberList() }])) as Record<string, { t: NumberList; v: NumberList }>;
  const errors = new ErrorCounter(t0, t1);
  let total = 0;
  for await (const e of events) {
    total++;
    if (e.source !== "fleet") continue;
    errors.add(e);
    const list = points[e.type];
    const latency = (e as { latency_ms?: unknown }).latency_ms;
    if (list && typeof latency === "number" && Number.isFinite(latency) && Number.isFinite(e.t)) {
      list.t.push(e.t);
      list.v.push(latency);
    }
  }
  const of = (k: LatencyKind) => points[latencyEventType(k)]!;
  const latency = Object.fromEntries(LATENCY_KINDS.map((k) => [k, windowedPoints(of(k).t.view(), of(k).v.view(), t0, t1)])) as PageSeries["latency"];
  return { series: { latency, errors: errors.result(), scatter: scatterPoints(of("ack").t.view(), of("ack").v.view(), t0) }, total };
}

/** At most `limit` events of `events`, in recorded order: every non-fleet event first, then fleet errors and connection changes, then the rest. */
export function pageEvents(events: readonly RunEvent[], limit: number = PAGE_EVENT_LIMIT): RunEvent[] {
  if (events.length <= limit) return [...events];
  const keep = new Uint8Array(events.length);
  let left = limit;
  const pass = (wanted: (e: RunEvent) => boolean) => {
    for (let i = 0; i < events.length && left > 0; i++) {
      if (keep[i] === 0 && wanted(events[i]!)) {
        keep[i] = 1;
        left--;
      }
    }
  };
  pass((e) => e.source !== "fleet");
  pass((e) => FLEET_PRIORITY.has(e.type));
  pass(() => true);
  return events.filter((_, i) => keep[i] === 1);
}

/** A regular stride of at most `limit` items, keeping the last. */
export function thinned<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  const stride = Math.ceil(items.length / limit);
  const out = items.filter((_, i) => i % stride === 0);
  if ((items.length - 1) % stride !== 0) out.push(items.at(-1)!);
  return out;
}

function upOnly(gateways: Sample["gateways"]): Sample["gateways"] {
  return Object.fromEntries(Object.entries(gateways).map(([id, g]) => [id, { up: g.up }]));
}

/**
 * The run as the page embeds it: run.json with its events and samples capped and a `page` digest whose series come
 * from every event of the run (from `dir`'s event log when run.json names one that exists, else from run.json's
 * events). A run within the limits is embedded whole, with series equal to what the page would compute itself.
 */
export async function pageRun(run: RunResult, dir: string): Promise<PageRun> {
  const { t0, t1 } = timeBase(run);
  const events = Array.isArray(run.events) ? run.events : [];
  const samples = Array.isArray(run.samples) ? run.samples : [];
  const logFile = run.event_log?.file;
  const logPath = logFile !== undefined ? join(dir, logFile) : undefined;
  const fromLog = logPath !== undefined && existsSync(logPath);
  const { series, total } = await seriesOf(fromLog ? readEventLog(logPath) : events, t0, t1);
  const shownEvents = pageEvents(events);
  // The page reads gateway metrics of the last sample only (configuration section): the others keep whether /metrics answered.
  const shownSamples = thinned(samples, PAGE_SAMPLE_LIMIT).map((s, i, all) => (i === all.length - 1 || !s.gateways ? s : { ...s, gateways: upOnly(s.gateways) }));
  const digest: PageDigest = {
    series,
    events: { shown: shownEvents.length, total: Math.max(total, events.length), ...(fromLog ? { file: logFile } : {}) },
    samples: { shown: shownSamples.length, total: samples.length },
  };
  return { ...run, events: shownEvents, samples: shownSamples, page: digest };
}
