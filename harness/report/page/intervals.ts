/** Faults and process lifecycles as intervals and marks on the run's time axis (epoch ms). */
import type { RunEvent } from "../run-result.js";
import { eventNumber, eventSource, eventText, eventTime, eventType, eventValue } from "./run-model.js";
import { compactJson, obj, text } from "./values.js";

/** One fault from its start to its end (or to the end of the run when it never ended). */
export interface FaultInterval {
  id: string;
  kind: string;
  targets: string[];
  description: string;
  start: number;
  end: number;
  /** Whether the fault's end reported success; null when it did not say. */
  ok: boolean | null;
  /** True when no fault_end was recorded. */
  open: boolean;
  error?: string;
}

/** What a process event means on an instance lane. */
export type MarkKind = "kill" | "crash" | "exit" | "stop" | "start" | "starting" | "other";

/** One process event on an instance lane. */
export interface ProcessMark {
  t: number;
  target: string;
  state: string;
  kind: MarkKind;
  label: string;
}

/** A stretch in which an instance was draining (stop signal sent, not yet exited) or down (exited, not restarted). */
export interface DownInterval {
  target: string;
  kind: "draining" | "down";
  start: number;
  end: number;
}

function targetsOf(e: RunEvent): string[] {
  const targets = eventValue(e, "targets");
  if (Array.isArray(targets)) return targets.map(String);
  const target = eventValue(e, "target");
  return target === undefined || target === null ? [] : [String(target)];
}

/** Faults as intervals: each fault_start paired with the fault_end of the same fault id; unended ones run to tEnd. */
export function faultIntervals(events: readonly RunEvent[], tEnd: number): FaultInterval[] {
  const open = new Map<string, FaultInterval>();
  const out: FaultInterval[] = [];
  for (const e of events) {
    const t = eventTime(e);
    if (eventSource(e) !== "fault" || t === null) continue;
    const key = eventText(e, "fault_id") || eventText(e, "description") || text(eventValue(e, "kind"), "fault");
    const fresh = (start: number): FaultInterval => ({
      id: key,
      kind: text(eventValue(e, "kind"), "fault"),
      targets: targetsOf(e),
      description: eventText(e, "description"),
      start,
      end: NaN,
      ok: null,
      open: false,
    });
    if (eventType(e) === "fault_start") {
      const started = fresh(t);
      open.set(key, started);
      out.push(started);
    } else if (eventType(e) === "fault_end") {
      let f = open.get(key);
      if (!f) {
        const duration = eventNumber(e, "duration_ms");
        f = fresh(duration !== null ? t - duration : t);
        out.push(f);
      }
      f.end = t;
      const ok = eventValue(e, "ok");
      f.ok = ok === true ? true : ok === false ? false : null;
      const error = eventValue(e, "error");
      // A message, or an object with one ({ code, message }).
      if (error !== undefined) f.error = text(error, text(obj(error).message, compactJson(error)));
      open.delete(key);
    }
  }
  for (const f of out) {
    if (Number.isNaN(f.end)) {
      f.end = Math.max(f.start, tEnd);
      f.open = true;
    }
  }
  return out;
}

/** Process events as marks: kill (SIGKILL), exit, crash (unexpected exit), stop (signal sent), start. */
export function processMarks(events: readonly RunEvent[]): ProcessMark[] {
  const out: ProcessMark[] = [];
  for (const e of events) {
    const t = eventTime(e);
    if (eventSource(e) !== "process" || t === null) continue;
    const state = eventText(e, "state") || text(eventType(e), "?");
    const exit = obj(eventValue(e, "exit"));
    const how = text(exit.signal, `code ${text(exit.code, "?")}`);
    let kind: MarkKind = "other";
    let label = state;
    if (state === "stopped" || state === "exited") {
      if (exit.signal === "SIGKILL") [kind, label] = ["kill", "killed (SIGKILL)"];
      else if (exit.expected === false) [kind, label] = ["crash", `exited unexpectedly (${how})`];
      else [kind, label] = ["exit", `exited (${how})`];
    } else if (state === "stopping") [kind, label] = ["stop", "stopping (signal sent)"];
    else if (state === "started") {
      const pid = eventNumber(e, "pid");
      [kind, label] = ["start", `started${pid !== null ? ` (pid ${pid})` : ""}`];
    } else if (state === "starting") [kind, label] = ["starting", "starting"];
    out.push({ t, target: text(eventValue(e, "target"), "?"), state, kind, label });
  }
  return out;
}

/** Per-instance intervals while draining (stopping→stopped) and down (stopped→started); still down ones run to tEnd. */
export function downIntervals(marks: readonly ProcessMark[], tEnd: number): DownInterval[] {
  const state = new Map<string, { drain: number | null; down: number | null }>();
  const out: DownInterval[] = [];
  for (const m of marks) {
    let s = state.get(m.target);
    if (!s) state.set(m.target, (s = { drain: null, down: null }));
    if (m.kind === "stop") s.drain = m.t;
    else if (m.kind === "kill" || m.kind === "exit" || m.kind === "crash") {
      if (s.drain !== null) out.push({ target: m.target, kind: "draining", start: s.drain, end: m.t });
      s.drain = null;
      s.down = m.t;
    } else if (m.kind === "start") {
      if (s.down !== null) out.push({ target: m.target, kind: "down", start: s.down, end: m.t });
      s.down = null;
    }
  }
  for (const [target, s] of state) if (s.down !== null && s.down < tEnd) out.push({ target, kind: "down", start: s.down, end: tEnd });
  return out;
}

/** Assigns overlapping intervals to rows so that none overlap within a row. */
export function stackRows(intervals: readonly { start: number; end: number }[]): { row: number[]; count: number } {
  const ends: number[] = [];
  const row = intervals.map((f) => {
    for (let r = 0; r < ends.length; r++) {
      if (ends[r]! <= f.start) {
        ends[r] = f.end;
        return r;
      }
    }
    ends.push(f.end);
    return ends.length - 1;
  });
  return { row, count: Math.max(1, ends.length) };
}
