import { probeHttp } from "../runtime/readiness.js";

const SCRAPE_TIMEOUT_MS = 800;
const MAX_SERIES = 200;

/**
 * Parses Prometheus text exposition into `name{labels}` → value, skipping comments, non-numeric values and
 * histogram buckets (their sums and counts are kept). At most {@link MAX_SERIES} series.
 */
export function parsePrometheusText(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  let count = 0;
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, series, raw] = match as unknown as [string, string, string];
    if (series.includes("_bucket{")) continue;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    out[series] = value;
    if (++count >= MAX_SERIES) break;
  }
  return out;
}

/** GETs `url` (a /metrics endpoint) and parses it; `{ up: false }` when it does not answer 200. */
export async function scrapeMetrics(url: string): Promise<{ up: boolean; metrics?: Record<string, number> }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    const text = await response.text();
    if (response.status !== 200) return { up: false };
    return { up: true, metrics: parsePrometheusText(text) };
  } catch {
    const probe = await probeHttp(url, 1);
    return { up: probe.status === 200 };
  }
}
