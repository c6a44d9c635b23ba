/**
 * Value helpers of the report page: escaping and formatting. A run.json may come from an older harness or be
 * cut short, so every reader here accepts any value and falls back instead of throwing.
 */

/** Longest JSON text shown in one block before it is cut (the rest stays in run.json). */
export const TEXT_LIMIT = 20_000;

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes a value for HTML text and attribute values: every string from the run goes through here. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A plain object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The value when it is a plain object, else an empty one. */
export function obj(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

/** The value when it is an array, else an empty one. */
export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The value when it is a finite number, else null. */
export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A non-empty string, number or boolean as text, else the fallback. */
export function text(v: unknown, fallback = ""): string {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return fallback;
}

/** A number with at most `digits` decimals and thousands separators; "–" when it is not a number. */
export function fmtNumber(v: unknown, digits = 2): string {
  const n = num(v);
  if (n === null) return "–";
  // One formatter per precision: toLocaleString builds a new one on every call, which chart axes and legends make by the thousand.
  let format = FORMATS.get(digits);
  if (!format) FORMATS.set(digits, (format = new Intl.NumberFormat("en-US", { maximumFractionDigits: digits })));
  return format.format(n);
}

const FORMATS = new Map<number, Intl.NumberFormat>();

/** A duration in ms as "350 ms", "12.3 s" or "3 min 5 s". */
export function fmtDuration(ms: unknown): string {
  const n = num(ms);
  if (n === null) return "–";
  if (Math.abs(n) < 1_000) return `${Math.round(n)} ms`;
  if (Math.abs(n) < 120_000) return `${(n / 1_000).toFixed(1)} s`;
  const s = Math.round(n / 1_000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Seconds since the run started as "+4.41 s". */
export function fmtOffset(seconds: unknown): string {
  const n = num(seconds);
  return n === null ? "–" : `+${n.toFixed(n < 100 ? 2 : 1)} s`;
}

/** An ISO string or epoch ms as "2026-01-01 00:00:00.000 UTC". */
export function fmtTime(t: unknown): string {
  const n = typeof t === "string" ? Date.parse(t) : num(t);
  if (n === null || !Number.isFinite(n)) return "–";
  return new Date(n).toISOString().replace("T", " ").replace("Z", " UTC");
}

/** Indented JSON, cut after `limit` characters with a note. */
export function toJson(value: unknown, limit = TEXT_LIMIT): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value, null, 2);
  } catch {
    s = String(value);
  }
  if (s === undefined) s = String(value);
  if (s.length > limit) s = `${s.slice(0, limit)}\n… ${s.length - limit} more characters (see run.json)`;
  return s;
}

/** One-line JSON (String() of what JSON cannot represent). */
export function compactJson(value: unknown): string {
  try {
    const s = JSON.stringify(value);
    return s === undefined ? String(value) : s;
  } catch {
    return String(value);
  }
}

/** Quotes one word for a POSIX shell, leaving plain words as they are. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Cuts a label to at most `n` characters, ending in "…" when cut. */
export function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1))}…`;
}
