/** Chart series derived from the run's samples: x in seconds since the run started, y or null for a gap. */
import type { Sample } from "../run-result.js";
import { sampleSeconds } from "./run-model.js";
import { num, obj } from "./values.js";

/** One point of a series; a null y leaves a gap. */
export interface Point {
  x: number;
  y: number | null;
}

/** One chart series from the samples: y from `pick(sample)` (a missing or non-numeric value leaves a gap). */
export function sampleSeries(samples: readonly Sample[], t0: number, pick: (s: Sample) => unknown): Point[] {
  const out: Point[] = [];
  for (const s of samples) {
    const x = sampleSeconds(s, t0);
    if (x === null) continue;
    let y: number | null = null;
    try {
      y = num(pick(s));
    } catch {
      y = null;
    }
    out.push({ x, y });
  }
  return out;
}

/** The last sample's live connections against registry records, as a note ("" when no sample has both). */
export function registryNote(live: readonly Point[], records: readonly Point[]): string {
  for (let i = Math.min(live.length, records.length) - 1; i >= 0; i--) {
    const l = live[i]!.y;
    const r = records[i]!.y;
    if (l === null || r === null) continue;
    const d = r - l;
    return `last sample: ${l.toLocaleString("en-US")} live, ${r.toLocaleString("en-US")} records${d > 0 ? ` (${d} ghosts)` : d < 0 ? ` (${-d} missing)` : " (equal)"}`;
  }
  return "";
}

/**
 * The samples' `redis_slow` added up: the SUT's Redis commands of 20 ms or more, the longest, and how many per
 * command. Samples without it (a failed read, an older run) add nothing.
 */
export function slowCommandsTotal(samples: readonly Sample[]): { count: number; max_ms: number; by_command: Record<string, number> } {
  const total = { count: 0, max_ms: 0, by_command: {} as Record<string, number> };
  for (const sample of samples) {
    const slow = obj(sample.redis_slow);
    total.count += num(slow.count) ?? 0;
    total.max_ms = Math.max(total.max_ms, num(slow.max_ms) ?? 0);
    for (const [command, n] of Object.entries(obj(slow.by_command))) total.by_command[command] = (total.by_command[command] ?? 0) + (num(n) ?? 0);
  }
  return total;
}
