/**
 * An action (it loads the system under test; observations live in harness/probes/): the HTTP flood of
 * `Step.httpLoad`, and how its totals are judged.
 */
import { startHttpLoad, type HttpLoadStats } from "../load/http-load.js";
import type { HttpLoadEndpoint } from "../scenario/step.js";
import { tenantToken } from "../probes/probe-io.js";
import { liveConnections, type LiveConnection, type ProbeContext } from "../probes/probe-context.js";

/** Share of a flood's requests that may fail (non-2xx, socket errors, timeouts) before the step fails. */
export const HTTP_LOAD_MAX_FAILED_RATIO = 0.01;
/** Below this many requests no failure is allowed at all: 1% of a small flood rounds to none. */
export const HTTP_LOAD_MIN_REQUESTS_FOR_RATIO = 100;
/** Per-request timeout of a flood, in seconds. */
const REQUEST_TIMEOUT_S = 5;

/** Options of {@link runHttpLoad}: what `Step.httpLoad` planned. */
export interface RunHttpLoadOptions {
  endpoint: HttpLoadEndpoint;
  durationMs: number;
  /** Total across instances. */
  connections: number;
  /** Total across instances. */
  ratePerSecond: number;
}

/** Why an HTTP load step failed: what it should have done and what happened. */
export interface HttpLoadFailure {
  expected: string;
  actual: Record<string, unknown>;
}

/**
 * Splits an integer `total` over `parts` as evenly as possible: the first `total % parts` parts get one more.
 * The shares sum to `total` exactly; with fewer units than parts, the last parts get 0.
 */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Judges a flood's totals: it fails when it made no request, or when its failed requests (non-2xx responses plus
 * socket errors, which include timeouts) exceed {@link HTTP_LOAD_MAX_FAILED_RATIO} of its attempts (none allowed
 * below {@link HTTP_LOAD_MIN_REQUESTS_FOR_RATIO} attempts). Returns undefined when the flood passes.
 */
export function judgeHttpLoad(totals: { requests: number; non2xx: number; errors: number; timeouts: number }): HttpLoadFailure | undefined {
  const attempted = totals.requests + totals.errors;
  const failed = totals.non2xx + totals.errors;
  const allowed = attempted >= HTTP_LOAD_MIN_REQUESTS_FOR_RATIO ? Math.floor(attempted * HTTP_LOAD_MAX_FAILED_RATIO) : 0;
  const expected = `requests made, at most ${HTTP_LOAD_MAX_FAILED_RATIO * 100}% of them failed (non-2xx, errors, timeouts; none below ${HTTP_LOAD_MIN_REQUESTS_FOR_RATIO} requests)`;
  if (attempted === 0) return { expected, actual: { reason: "the flood made no request", ...totals } };
  if (failed > allowed) return { expected, actual: { reason: `${failed} of ${attempted} requests failed (at most ${allowed} allowed)`, attempted, failed, ...totals } };
  return undefined;
}

/**
 * Floods the lookup or route API of the live instances (the rate split evenly in whole requests per second, so
 * the shares never exceed the step's total; connections split evenly, at least one per flooded instance), over the sessions of the fleet tenant with the most live connections and with that tenant's
 * token, so every request concerns real data; records one `http_load` event with the stats per instance, or
 * `http_load_skipped` when no fleet connection or no instance is live. Route floods target every connection of the
 * session (`to: {}`), so they deliver. Returns the step's failure (skipped, or too many failed requests; see
 * {@link judgeHttpLoad}), or undefined when it passed or the signal ended it early.
 */
export async function runHttpLoad(context: ProbeContext, options: RunHttpLoadOptions, signal: AbortSignal): Promise<HttpLoadFailure | undefined> {
  const byTenant = new Map<string, LiveConnection[]>();
  for (const connection of liveConnections(context.events)) {
    const list = byTenant.get(connection.tenant_id);
    if (list) list.push(connection);
    else byTenant.set(connection.tenant_id, [connection]);
  }
  const [tenant, connections] = [...byTenant].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))[0] ?? [];
  const live = context.liveInstances();
  if (!tenant || !connections || live.length === 0) {
    const reason = !tenant ? "no live fleet connection to take sessions from" : "no live instance";
    context.record({ type: "http_load_skipped", endpoint: options.endpoint, reason });
    return { expected: "a live fleet connection and a live instance to flood", actual: { reason: `skipped: ${reason}` } };
  }
  // Instances whose rate share rounds to 0 (fewer requests per second than instances) are not flooded.
  const rates = splitEvenly(options.ratePerSecond, live.length);
  const instances = live.filter((_, i) => rates[i]! > 0);
  const connectionShares = splitEvenly(Math.max(options.connections, instances.length), instances.length);
  const sessionIds = [...new Set(connections.map((c) => c.session_id))];
  const token = tenantToken(context.authSecret, tenant);
  const t0 = Date.now();
  const stats = await Promise.all(
    instances.map(async (instance, i) => {
      const result: HttpLoadStats = await startHttpLoad(
        {
          baseUrl: instance.httpUrl,
          kind: options.endpoint,
          sessionIds,
          token,
          connections: connectionShares[i]!,
          overallRate: rates[live.indexOf(instance)]!,
          durationS: options.durationMs / 1_000,
          timeoutS: REQUEST_TIMEOUT_S,
          ...(options.endpoint === "route" ? { to: {}, payload: { http_load: true } } : {}),
        },
        signal,
      ).result;
      return { instance: instance.id, ...result };
    }),
  );
  const sum = (key: "requests" | "ok" | "non2xx" | "errors" | "timeouts") => stats.reduce((n, s) => n + s[key], 0);
  const totals = { requests: sum("requests"), ok: sum("ok"), non2xx: sum("non2xx"), errors: sum("errors"), timeouts: sum("timeouts") };
  context.record({
    type: "http_load",
    t: Date.now(),
    started_at: t0,
    endpoint: options.endpoint,
    tenant_id: tenant,
    sessions: sessionIds.length,
    ...totals,
    latency_p99_max_ms: Math.max(...stats.map((s) => s.latency.p99)),
    by_instance: stats,
  });
  if (signal.aborted) return undefined;
  return judgeHttpLoad(totals);
}
