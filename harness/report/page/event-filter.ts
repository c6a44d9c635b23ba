/** The events log's filter: source, type and free text, capped, with the count of all matches. */
import type { RunEvent } from "../run-result.js";
import { eventSource, eventType } from "./run-model.js";
import { compactJson, isObject } from "./values.js";

/** The filter's inputs; each is optional ("" or missing means any). */
export interface EventFilter {
  /** "" any source, "!fleet" any but fleet, else that source exactly. */
  source?: string;
  type?: string;
  /** Case-insensitive text searched in each event's JSON. */
  text?: string;
}

/** One matching row: the event and its index in the run's event list. */
export interface EventRow {
  index: number;
  event: RunEvent;
}

/** Whether an event belongs to a source choice: "" any, "!fleet" any but fleet, else that source exactly. */
export function sourceMatches(e: unknown, source = ""): boolean {
  if (!isObject(e)) return false;
  const src = eventSource(e as unknown as RunEvent);
  if (source.startsWith("!")) return src !== source.slice(1);
  return !source || src === source;
}

/**
 * Events matching the filter; at most `limit` rows, with the count of all matches. `texts`, when given, caches each
 * event's lowercased JSON by index: built the first time the text filter reaches that event, reused by every later
 * call with the same array (on 150,000 events a later keystroke then costs a quarter of the first).
 */
export function filterEvents(events: readonly unknown[], filter: EventFilter, limit: number, texts: string[] = []): { rows: EventRow[]; total: number } {
  const source = filter.source ?? "";
  const type = filter.type ?? "";
  const needle = (filter.text ?? "").toLowerCase();
  const rows: EventRow[] = [];
  let total = 0;
  for (let index = 0; index < events.length; index++) {
    const e = events[index];
    if (!sourceMatches(e, source)) continue;
    const event = e as RunEvent;
    if (type && eventType(event) !== type) continue;
    if (needle) {
      let haystack = texts[index];
      if (haystack === undefined) haystack = texts[index] = compactJson(event).toLowerCase();
      if (!haystack.includes(needle)) continue;
    }
    total++;
    if (rows.length < limit) rows.push({ index, event });
  }
  return { rows, total };
}
