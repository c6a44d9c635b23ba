/// <reference lib="dom" />
/** The events log: source, type and text filters over every event, the first rows drawn, the count of all. */
import type { RunEvent } from "../run-result.js";
import { filterEvents, sourceMatches } from "./event-filter.js";
import { eventSource, eventTime, eventType, eventValue, runEvents, type PageRun } from "./run-model.js";
import { compactJson, esc, fmtOffset, text } from "./values.js";

/** Rows the events table draws at most; the count line says how many matched. */
export const EVENT_ROW_LIMIT = 500;
/** Wait after the last keystroke in the text filter before filtering again. */
const TEXT_DEBOUNCE_MS = 150;
const SUBJECT_FIELDS = ["target", "targets", "client", "instance_id", "phase", "name"];
const SHOWN_FIELDS = new Set(["t", "source", "type", ...SUBJECT_FIELDS]);

/** Events per source. */
export function sourceCounts(events: readonly RunEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(text(eventSource(e), "?"), (counts.get(text(eventSource(e), "?")) ?? 0) + 1);
  return counts;
}

/** The note of a long run's page: how many of the run's events it holds, and a link to the file holding all. */
export function eventsCapNote(run: PageRun): string {
  const digest = run.page?.events;
  if (!digest || digest.total <= digest.shown) return "";
  // The link's target is set by wireEvents: the page's static text holds no link attribute at all.
  const file = digest.file ? ` <a id="event-log-link">${esc(digest.file)}</a>` : " the event log";
  return `<p class="note" id="events-capped">This page holds ${digest.shown} of the run's ${digest.total} events (every event that is not the fleet's, then connection changes and errors, then the rest in order); every event is in${file}, one JSON object per line.</p>`;
}

/** The section's HTML without its rows: the wiring fills them. */
export function renderEventsShell(run: PageRun): string {
  const events = runEvents(run);
  const html = `<h2>Events</h2>${eventsCapNote(run)}`;
  if (events.length === 0) return `${html}<p class="empty">No events were recorded.</p>`;
  const sources = sourceCounts(events);
  const fleet = sources.get("fleet") ?? 0;
  // Fleet events are per client and drown the rest: the log opens on everything else when both exist.
  const quiet = fleet > 0 && fleet < events.length;
  const options =
    `<option value="">all (${events.length})</option>` +
    (quiet ? `<option value="!fleet" selected>all but fleet (${events.length - fleet})</option>` : "") +
    [...sources.keys()].sort().map((s) => `<option value="${esc(s)}">${esc(s)} (${sources.get(s)})</option>`).join("");
  return (
    html +
    `<div class="event-filter"><label>source <select id="event-source">${options}</select></label><label>type <select id="event-type"></select></label>` +
    `<label>text <input id="event-text" type="search" placeholder="client, websocket id, target…"></label></div>` +
    `<p class="event-count" id="event-count"></p><div class="events-scroll"><table class="events"><thead><tr><th>time</th><th>source</th><th>type</th><th>subject</th><th>fields</th></tr></thead><tbody id="event-rows"></tbody></table></div>`
  );
}

/** Who or what an event is about, as one line. */
export function eventSubject(e: RunEvent): string {
  const parts: string[] = [];
  for (const key of SUBJECT_FIELDS) {
    const v = eventValue(e, key);
    if (v === undefined) continue;
    if (key === "targets" && Array.isArray(v)) parts.push(v.join(","));
    else if (key !== "targets") parts.push((key === "instance_id" ? "@" : "") + text(v, compactJson(v)));
  }
  return parts.join(" ");
}

/** One row of the table; errors, kills and failures are tinted. */
export function eventRow(e: RunEvent, t0: number): string {
  const rest = Object.fromEntries(Object.entries(e as object).filter(([k]) => !SHOWN_FIELDS.has(k)));
  const bad = /error|fail|kill|crash/i.test(eventType(e)) || eventValue(e, "ok") === false || eventValue(e, "pass") === false;
  let fields = compactJson(rest);
  if (fields.length > 600) fields = `${fields.slice(0, 600)}…`;
  const t = eventTime(e);
  return (
    `<tr${bad ? ` class="bad"` : ""}><td>${esc(t !== null ? fmtOffset((t - t0) / 1_000) : "–")}</td><td>${esc(text(eventSource(e), "?"))}</td><td>${esc(text(eventType(e), "?"))}</td>` +
    `<td>${esc(eventSubject(e))}</td><td><code>${esc(fields === "{}" ? "" : fields)}</code></td></tr>`
  );
}

/** The count line above the table. */
export function countLine(shown: number, total: number, all: number): string {
  return total > shown
    ? `Showing the first ${shown} of ${total} matching events (${all} in all); narrow the filter to see others.`
    : `${total} matching event${total === 1 ? "" : "s"} (${all} in all).`;
}

/** Wires the filters to the table and draws the first rows. */
export function wireEvents(doc: Document, run: PageRun, t0: number): void {
  const source = doc.getElementById("event-source") as HTMLSelectElement | null;
  const type = doc.getElementById("event-type") as HTMLSelectElement | null;
  const input = doc.getElementById("event-text") as HTMLInputElement | null;
  const rowsBody = doc.getElementById("event-rows");
  const count = doc.getElementById("event-count");
  const file = run.page?.events.file;
  if (file) doc.getElementById("event-log-link")?.setAttribute("href", file);
  if (!source || !type || !input || !rowsBody || !count) return;
  const events = runEvents(run);
  const texts: string[] = [];
  const fillTypes = (): void => {
    const counts = new Map<string, number>();
    for (const e of events) if (sourceMatches(e, source.value)) counts.set(text(eventType(e), "?"), (counts.get(text(eventType(e), "?")) ?? 0) + 1);
    const current = type.value;
    type.innerHTML = `<option value="">all</option>${[...counts.keys()].sort().map((t) => `<option value="${esc(t)}">${esc(t)} (${counts.get(t)})</option>`).join("")}`;
    type.value = counts.has(current) ? current : "";
  };
  const update = (): void => {
    const result = filterEvents(events, { source: source.value, type: type.value, text: input.value }, EVENT_ROW_LIMIT, texts);
    rowsBody.innerHTML = result.rows.map((r) => eventRow(r.event, t0)).join("");
    count.textContent = countLine(result.rows.length, result.total, events.length);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  source.addEventListener("change", () => {
    fillTypes();
    update();
  });
  type.addEventListener("change", update);
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, TEXT_DEBOUNCE_MS);
  });
  fillTypes();
  update();
}
