import { httpRequest } from "../common/http-request.js";
import { probeHttp } from "../runtime/readiness.js";

const SCRAPE_TIMEOUT_MS = 800;
const MAX_SERIES = 200;

/** One sample line of the Prometheus text exposition format (0.0.4), parsed. */
export interface PrometheusSample {
  name: string;
  /** Label pairs in the order they appear, values unescaped. */
  labels: [string, string][];
  /** `NaN`, `+Inf` and `-Inf` parse to their number values. */
  value: number;
  /** Epoch ms, when the line carries one. */
  timestampMs?: number;
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const NUMBER = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf|NaN|nan)$/;

function number(token: string): number | undefined {
  if (!NUMBER.test(token)) return undefined;
  if (/^[+-]?inf$/i.test(token)) return token.startsWith("-") ? -Infinity : Infinity;
  return /nan/i.test(token) ? Number.NaN : Number(token);
}

function skipSpaces(line: string, at: number): number {
  while (line[at] === " " || line[at] === "\t") at++;
  return at;
}

/**
 * Parses one sample line (not a comment); `undefined` when it is malformed. Label values may hold any character:
 * `\"`, `\\` and `\n` are the format's escapes, and `}` or `,` inside the quotes are plain text.
 */
export function parsePrometheusLine(line: string): PrometheusSample | undefined {
  METRIC_NAME.lastIndex = 0;
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) return undefined;
  let at = skipSpaces(line, name.length);
  const labels: [string, string][] = [];
  if (line[at] === "{") {
    at = skipSpaces(line, at + 1);
    while (line[at] !== "}") {
      LABEL_NAME.lastIndex = at;
      const label = LABEL_NAME.exec(line)?.[0];
      if (!label) return undefined;
      at = skipSpaces(line, at + label.length);
      if (line[at] !== "=") return undefined;
      at = skipSpaces(line, at + 1);
      if (line[at] !== '"') return undefined;
      at++;
      let value = "";
      for (;;) {
        const c = line[at];
        if (c === undefined) return undefined;
        if (c === '"') break;
        if (c === "\\") {
          const next = line[at + 1];
          // The format defines three escapes; any other backslash is kept as written (as Prometheus does).
          value += next === "n" ? "\n" : next === '"' ? '"' : next === "\\" ? "\\" : `\\${next ?? ""}`;
          at += 2;
          continue;
        }
        value += c;
        at++;
      }
      labels.push([label, value]);
      at = skipSpaces(line, at + 1);
      if (line[at] === ",") at = skipSpaces(line, at + 1);
      else if (line[at] !== "}") return undefined;
    }
    at++;
  }
  const rest = line.slice(at).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "") return undefined;
  const value = number(rest[0]!);
  if (value === undefined) return undefined;
  const sample: PrometheusSample = { name, labels, value };
  if (rest.length === 2) {
    if (!/^-?\d+$/.test(rest[1]!)) return undefined;
    sample.timestampMs = Number(rest[1]);
  }
  return sample;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** The series key of a sample: `name{label="value",...}` in the exposition's own order and escaping. */
export function seriesKey(sample: Pick<PrometheusSample, "name" | "labels">): string {
  if (sample.labels.length === 0) return sample.name;
  return `${sample.name}{${sample.labels.map(([label, value]) => `${label}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/**
 * Parses Prometheus text exposition into `name{labels}` → value (keys as the exposition writes them), skipping
 * comments (`# HELP`, `# TYPE`), malformed lines, non-finite values (`NaN`, `±Inf`) and histogram buckets (their
 * `_sum` and `_count` are kept, as are summary quantiles). Timestamps are read and dropped. At most
 * {@link MAX_SERIES} series.
 */
export function parsePrometheusText(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  let count = 0;
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim().length === 0 || line.trimStart().startsWith("#")) continue;
    const sample = parsePrometheusLine(line.trimStart());
    if (!sample) continue;
    if (sample.name.endsWith("_bucket") && sample.labels.some(([label]) => label === "le")) continue;
    if (!Number.isFinite(sample.value)) continue;
    out[seriesKey(sample)] = sample.value;
    if (++count >= MAX_SERIES) break;
  }
  return out;
}

/**
 * The sum of every series of metric `name` in a Prometheus text exposition (all label sets; no series cap), or
 * `undefined` when it has none.
 */
export function sumOfMetric(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trimStart();
    if (!line.startsWith(name)) continue;
    const sample = parsePrometheusLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    if (sample?.name === name && Number.isFinite(sample.value)) sum = (sum ?? 0) + sample.value;
  }
  return sum;
}

/** GETs a `/metrics` URL: its text when it answers 200 within `timeoutMs`, else `undefined`. */
export async function metricsText(url: string, timeoutMs: number): Promise<string | undefined> {
  const answer = await httpRequest(url, { timeoutMs }).catch(() => undefined);
  return answer?.status === 200 ? answer.text : undefined;
}

/** GETs `url` (a /metrics endpoint) and parses it; `{ up: false }` when it does not answer 200. */
export async function scrapeMetrics(url: string): Promise<{ up: boolean; metrics?: Record<string, number> }> {
  try {
    const { status, text } = await httpRequest(url, { timeoutMs: SCRAPE_TIMEOUT_MS });
    if (status !== 200) return { up: false };
    return { up: true, metrics: parsePrometheusText(text) };
  } catch {
    const probe = await probeHttp(url, 1);
    return { up: probe.status === 200 };
  }
}
