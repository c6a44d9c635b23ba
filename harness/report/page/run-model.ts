/**
 * The run as the page reads it: run.json's own types, with every list filtered to objects at the boundary (the
 * file may come from an older harness or a run cut short). Event fields are read through the accessors here
 * only, so a change of the event model is a change in this file.
 */
import type { CheckResult, PhaseSpan, RunEvent, RunResult, Sample } from "../run-result.js";
import type { PageDigest } from "./page-digest.js";
import { isObject, list, num, obj, text } from "./values.js";

/** run.json as embedded in the page: any field may be missing; `page` is the report writer's digest of a long run. */
export type PageRun = Partial<RunResult> & { page?: PageDigest };

/**
 * The objects of a list, typed as the model's items: their fields are still read with the checks of values.ts,
 * since a run.json from an older harness may lack any of them.
 */
function objects<T>(v: unknown): T[] {
  return list(v).filter(isObject) as unknown[] as T[];
}

/** The run's events that are objects, in recorded order. */
export function runEvents(run: PageRun): RunEvent[] {
  return objects<RunEvent>(run.events);
}

/** The run's samples that are objects, in recorded order. */
export function runSamples(run: PageRun): Sample[] {
  return objects<Sample>(run.samples);
}

/** The run's checks that are objects, in recorded order. */
export function runChecks(run: PageRun): CheckResult[] {
  return objects<CheckResult>(run.checks);
}

/** The phases that have a start time. */
export function runPhases(run: PageRun): PhaseSpan[] {
  return objects<PhaseSpan>(run.phases).filter((p) => num(p.start) !== null);
}

/**
 * An event's fields by name. run.json may come from an older harness whose events lack or differ in fields, so the
 * page reads every field as unknown and checks it; this is the one place that looks inside an event.
 */
function fields(e: RunEvent): Record<string, unknown> {
  return e as unknown as Record<string, unknown>;
}

/** An event's time in epoch ms, or null. */
export function eventTime(e: RunEvent): number | null {
  return num(fields(e).t);
}

/** An event's source ("" when missing). */
export function eventSource(e: RunEvent): string {
  return text(fields(e).source);
}

/** An event's type ("" when missing). */
export function eventType(e: RunEvent): string {
  return text(fields(e).type);
}

/** A field of an event as text ("" when missing or not a scalar). */
export function eventText(e: RunEvent, field: string): string {
  return text(fields(e)[field]);
}

/** A field of an event as a number, or null. */
export function eventNumber(e: RunEvent, field: string): number | null {
  return num(fields(e)[field]);
}

/** A field of an event as it is. */
export function eventValue(e: RunEvent, field: string): unknown {
  return fields(e)[field];
}

/** A sample's time in seconds since t0 (from `t`, else `elapsed_ms`), or null. */
export function sampleSeconds(s: Sample, t0: number): number | null {
  const t = num(s.t);
  if (t !== null) return (t - t0) / 1_000;
  const elapsed = num(s.elapsed_ms);
  return elapsed === null ? null : elapsed / 1_000;
}

/** Earliest and latest time in epoch ms. */
export interface TimeRange {
  min: number;
  max: number;
}

/**
 * The earliest and latest time of the phases, samples and events (null when nothing has one). A plain loop:
 * Math.min over a spread of every event time overflows the call stack above about 125,000 events.
 */
export function timeRange(run: PageRun): TimeRange | null {
  let min = Infinity;
  let max = -Infinity;
  const add = (t: unknown): void => {
    const n = num(t);
    if (n === null) return;
    if (n < min) min = n;
    if (n > max) max = n;
  };
  for (const p of list(run.phases)) {
    add(obj(p).start);
    add(obj(p).end);
  }
  for (const s of list(run.samples)) add(obj(s).t);
  for (const e of list(run.events)) add(obj(e).t);
  return min === Infinity ? null : { min, max };
}

/** Start and end of the run in epoch ms. */
export interface TimeBase {
  t0: number;
  t1: number;
}

/** Start and end of the run from the best field present (0..1 when nothing has a time); scans only when needed. */
export function timeBase(run: PageRun): TimeBase {
  let range: TimeRange | null | undefined;
  const times = (): TimeRange | null => (range === undefined ? (range = timeRange(run)) : range);
  let t0 = Date.parse(String(run.started_at));
  if (!Number.isFinite(t0)) t0 = times()?.min ?? 0;
  let t1 = Date.parse(String(run.ended_at));
  const duration = num(run.duration_ms);
  if (!Number.isFinite(t1) && duration !== null) t1 = t0 + duration;
  if (!Number.isFinite(t1)) t1 = times()?.max ?? t0;
  return { t0, t1: Math.max(t1, t0 + 1) };
}

/** Every instance id the run mentions (topology, fleet, registry, process events), sorted naturally. */
export function instanceIds(run: PageRun): string[] {
  const seen = new Set<string>();
  for (const i of list(obj(run.topology).instances)) if (text(obj(i).id)) seen.add(text(obj(i).id));
  for (const s of runSamples(run)) {
    for (const k of Object.keys(obj(obj(s.fleet).by_instance))) seen.add(k);
    for (const k of Object.keys(obj(obj(s.registry).by_instance))) seen.add(k);
  }
  for (const e of runEvents(run)) if (eventSource(e) === "process" && eventText(e, "target")) seen.add(eventText(e, "target"));
  return [...seen].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** A status as a CSS class. */
export function statusClass(status: string): string {
  return ["passed", "failed", "error", "aborted"].includes(status) ? status : "unknown";
}
