import { setTimeout as delay } from "node:timers/promises";
import { forEachBounded } from "../common/bounded.js";
import type { CheckResult } from "../report/run-result.js";
import { askWhileUnavailable, httpProbe, PROBE_TIMEOUT_MS, UNAVAILABLE_RETRY_WINDOW_MS } from "../probes/probe-io.js";
import { metricsText, sumOfMetric } from "../recorder/metrics-scraper.js";
import { firstOf } from "./check.js";

/** Counters whose growth during a skew, with no instance dead, means live records were taken for expired. */
const CHURN_METRICS = ["traffic_cop_reaped_records_total", "traffic_cop_reconciliations_total"] as const;
/**
 * Lookups in flight at once. A release chaos run has 1,000 sessions on 4 instances: its rounds of 4,000 lookups at
 * once failed 7 of 38,228 (no status recorded then), a burst of the probe's own rather than anything the skew did.
 */
const LOOKUPS_IN_FLIGHT = 64;
/**
 * Longest a lookup is waited for, ms: as long as a bare `fetch` waits (undici's headers and body timeouts), so a slow
 * answer is still an answer; a lookup that gets none is tried again like one answered 503.
 */
const LOOKUP_TIMEOUT_MS = 300_000;

/** An instance as the probe reaches it. */
export interface SkewProbeInstance {
  id: string;
  httpUrl: string;
}

/** Options of {@link probeClockSkew}. */
export interface ClockSkewProbeOptions {
  /** Every live instance, the skewed one included. */
  instances: readonly SkewProbeInstance[];
  /** The live connections by session id: a token of the session's tenant and its websocket ids (each session should span several instances). */
  sessions: Readonly<Record<string, { token: string; ids: readonly string[] }>>;
  /** How long to keep looking, ms: at least two TTLs, so that every record has been rewritten by a heartbeat and judged against its expiry. */
  observeMs: number;
  /** Pause between rounds of lookups, ms. @default 200 */
  intervalMs?: number;
  /**
   * Called once the observation ends: ids whose connection closed or moved meanwhile (a fleet client reconnecting),
   * whose misses are not the skew's doing and are left out (counted as `left_out`). @default none
   */
  changedDuring?: () => Promise<ReadonlySet<string>>;
  /** Describes the skew for the report (`gw-2 -60000ms`). */
  skew: string;
  signal?: AbortSignal;
}

async function churn(instances: readonly SkewProbeInstance[]): Promise<Record<string, number>> {
  const texts = await Promise.all(instances.map((i) => metricsText(`${i.httpUrl}/metrics`, PROBE_TIMEOUT_MS)));
  return Object.fromEntries(CHURN_METRICS.map((name) => [name, texts.reduce((sum, text) => sum + (text === undefined ? 0 : (sumOfMetric(text, name) ?? 0)), 0)]));
}

/**
 * `clock-skew`: while one instance's wall clock is skewed (seconds to minutes ahead or behind), expiry must not
 * depend on it. For `observeMs` the probe looks every live connection up from every instance (the session
 * lookup of the HTTP API): each must be found from each, whichever instance holds it, the skewed one included, and no
 * instance may reap or re-register a live record meanwhile (the sum of `traffic_cop_reaped_records_total` and
 * `traffic_cop_reconciliations_total` over instances stays put). Dead records going within the bound is judged by
 * `ttl-expiry` (`vanishedConnections`) and by the integration test that kills the skewed instance. A lookup answered
 * 503 or not at all never reached the registry and says nothing of expiry (a loaded 2-core machine once stalled both
 * gateways' Redis commands past their 1 s timeout at once, one CI run): it is tried again for up to
 * {@link UNAVAILABLE_RETRY_WINDOW_MS} (`retried_lookups`); one still unanswered then, or answered with any other
 * error (401, 403, 500, ...), fails the check (`failed_lookups`).
 */
export async function probeClockSkew(options: ClockSkewProbeOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const before = await churn(options.instances);
  /** Every connection a lookup did not find, with the lookup's number (a lookup of a session can miss several). */
  const missed: { viewer: string; id: string; lookup: number }[] = [];
  const examples: { viewer: string; session_id: string; missing: string[]; t_ms: number }[] = [];
  let lookups = 0;
  let failedLookups = 0;
  /** Lookups answered 503 or not at all at first, then tried again (those that never got an answer also fail). */
  let retriedLookups = 0;
  const failures: { viewer: string; session_id: string; status: number | string; body?: unknown; t_ms: number }[] = [];
  const lookUp = async (viewer: SkewProbeInstance, sessionId: string, token: string, ids: readonly string[]) => {
    const lookup = ++lookups;
    // The connections live when the lookup is sent: a caller may add one to the session meanwhile.
    const expected = [...ids];
    const { answer, retries } = await askWhileUnavailable(
      () => httpProbe(`${viewer.httpUrl}/v1/sessions/${sessionId}/connections`, { token, timeoutMs: LOOKUP_TIMEOUT_MS }),
      // Status 0: no HTTP answer at all.
      (a) => a.status === 0 || a.status === 503,
      options.signal,
    );
    if (retries > 0) retriedLookups++;
    // 404: the session has no live connection at all from this viewer's point of view, the worst miss.
    const ok = answer.status >= 200 && answer.status < 300;
    if (!ok && answer.status !== 404) {
      failedLookups++;
      if (failures.length < 10) failures.push({ viewer: viewer.id, session_id: sessionId, status: answer.status || (answer.error ?? "no answer"), body: answer.body ?? undefined, t_ms: Date.now() - t0 });
      return;
    }
    const found = ok ? new Set((answer.body as { connections: { websocket_id: string }[] }).connections.map((c) => c.websocket_id)) : new Set<string>();
    const missing = expected.filter((id) => !found.has(id));
    if (missing.length === 0) return;
    for (const id of missing) missed.push({ viewer: viewer.id, id, lookup });
    if (examples.length < 10) examples.push({ viewer: viewer.id, session_id: sessionId, missing, t_ms: Date.now() - t0 });
  };
  while (Date.now() - t0 < options.observeMs && !options.signal?.aborted) {
    // One round: every session from every viewer, at most LOOKUPS_IN_FLIGHT at once (a release run has 1,000
    // sessions and 4 instances: 4,000 lookups at once are a flood of the probe's own).
    const round = options.instances.flatMap((viewer) => Object.entries(options.sessions).map(([sessionId, { token, ids }]) => () => lookUp(viewer, sessionId, token, ids)));
    await forEachBounded(round, LOOKUPS_IN_FLIGHT, (lookUpOne) => lookUpOne());
    await delay(options.intervalMs ?? 200);
  }
  const after = await churn(options.instances);
  const changed = (await options.changedDuring?.()) ?? new Set<string>();
  const counted = missed.filter((m) => !changed.has(m.id));
  const missesByViewer: Record<string, number> = Object.fromEntries(options.instances.map((i) => [i.id, 0]));
  for (const m of counted) missesByViewer[m.viewer] = (missesByViewer[m.viewer] ?? 0) + 1;
  const grown = Object.fromEntries(CHURN_METRICS.map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]));
  const misses = counted.length;
  const missedLookups = new Set(counted.map((m) => m.lookup)).size;
  const churned = Object.values(grown).reduce((a, b) => a + b, 0);
  return {
    name: "clock-skew",
    pass: misses === 0 && churned === 0 && failedLookups === 0 && lookups > 0,
    expected: { missed_lookups: 0, missed_connections: 0, reaped_or_reconciled_live_records: 0, failed_lookups: 0 },
    // missed_lookups: lookups that missed at least one live connection; missed_connections: the connections they
    // missed, summed over lookups (misses_by_viewer splits these by the instance asked).
    actual: {
      skew: options.skew,
      lookups,
      missed_lookups: missedLookups,
      missed_connections: misses,
      left_out: missed.length - counted.length,
      reaped_or_reconciled_live_records: churned,
      failed_lookups: failedLookups,
      retried_lookups: retriedLookups,
    },
    evidence: { misses_by_viewer: missesByViewer, churn: grown, failed_lookups: failures, examples: firstOf(examples.filter((e) => e.missing.some((id) => !changed.has(id)))), left_out_ids: firstOf(changed), observe_ms: options.observeMs },
    duration_ms: Date.now() - t0,
  };
}
