/**
 * HTTP floods of the gateway's lookup and route API with autocannon, bounded in time or count, on loopback only.
 * `startHttpLoad(options, signal)` returns `{ result }`: abort the signal to end early, then await the result.
 */
import autocannon from "autocannon";
import { isLoopback } from "../fleet/fleet-options.js";
import { isLocalNamespaceAddress } from "../runtime/network-namespaces.js";
import { HarnessError, HarnessOptionsError } from "../errors.js";
import type { RouteTarget } from "../fleet/fleet-events.js";

/** Longest flood allowed, in seconds: load must stop by itself. */
export const MAX_HTTP_LOAD_DURATION_S = 600;
/** Most requests one flood may make. */
export const MAX_HTTP_LOAD_AMOUNT = 10_000_000;

/** Which endpoint to flood: `lookup` = GET /v1/sessions/:id/connections, `route` = POST /v1/sessions/:id/messages. */
export type HttpLoadKind = "lookup" | "route";

/** Options of {@link startHttpLoad}. */
export interface HttpLoadOptions {
  /** Gateway base URL on a loopback address, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  kind: HttpLoadKind;
  /** Session ids, used round-robin (at least one). */
  sessionIds: string[];
  /** Bearer JWT sent with every request. */
  token: string;
  /** `lookup` filters (`agent_type`, `pillar` query parameters). */
  filter?: { agent_type?: string; pillar?: string };
  /** `route` target. @default { agent_type: "planner" } */
  to?: RouteTarget;
  /** `route` payload. @default { load: true } */
  payload?: unknown;
  /** Concurrent HTTP connections. @default 10 */
  connections?: number;
  /** Requests in flight per connection. @default 1 */
  pipelining?: number;
  /** Duration in seconds (ignored when `amount` is set). @default 5 */
  durationS?: number;
  /** Total requests; takes precedence over `durationS`. */
  amount?: number;
  /** Cap on requests per second across connections; unlimited when absent. */
  overallRate?: number;
  /** Per-request timeout in seconds. @default 10 */
  timeoutS?: number;
}

/** Latencies of a flood, in ms. */
export interface HttpLoadLatency {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What a flood did. */
export interface HttpLoadStats {
  kind: HttpLoadKind;
  /** Responses received. */
  requests: number;
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  /** Count per HTTP status. */
  statusCodes: Record<string, number>;
  /** Socket errors (refused, reset). */
  errors: number;
  timeouts: number;
  durationMs: number;
  /** Mean responses per second. */
  requestsPerSecond: number;
  latency: HttpLoadLatency;
  /** True when the signal ended the flood before its bound. */
  aborted: boolean;
}

function fail(rule: string): never {
  throw new HarnessOptionsError(`invalid http load options: ${rule}`);
}

function validate(options: HttpLoadOptions): URL {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    fail(`baseUrl ${JSON.stringify(options.baseUrl)} is not a URL (expected e.g. "http://127.0.0.1:8080")`);
  }
  if (url.protocol !== "http:") fail(`baseUrl ${options.baseUrl} must use http://`);
  if (!isLoopback(url.hostname) && !isLocalNamespaceAddress(url.hostname)) fail(`baseUrl ${options.baseUrl} must be a loopback address or a network namespace's address of this machine: load stays on this machine`);
  if (options.kind !== "lookup" && options.kind !== "route") fail(`kind must be "lookup" or "route" (got ${String(options.kind)})`);
  if (!Array.isArray(options.sessionIds) || options.sessionIds.length === 0 || !options.sessionIds.every((id) => typeof id === "string" && id.length > 0)) {
    fail("sessionIds must be a non-empty array of non-empty strings");
  }
  if (typeof options.token !== "string" || options.token.length === 0) fail("token must be a non-empty JWT");
  const durationS = options.durationS ?? 5;
  if (!(durationS > 0 && durationS <= MAX_HTTP_LOAD_DURATION_S)) fail(`durationS must be in (0, ${MAX_HTTP_LOAD_DURATION_S}] (got ${durationS})`);
  if (options.amount !== undefined && !(Number.isInteger(options.amount) && options.amount > 0 && options.amount <= MAX_HTTP_LOAD_AMOUNT)) {
    fail(`amount must be an integer in [1, ${MAX_HTTP_LOAD_AMOUNT}] (got ${options.amount})`);
  }
  for (const [name, value] of [["connections", options.connections], ["pipelining", options.pipelining]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 10_000)) fail(`${name} must be an integer in [1, 10000]`);
  }
  if (options.overallRate !== undefined && !(options.overallRate > 0)) fail("overallRate must be > 0");
  return url;
}

/**
 * Starts an autocannon flood of the lookup or route endpoint. Bad options throw a {@link HarnessOptionsError}
 * (`HARNESS_ERR_INVALID_OPTIONS`) at once; the result rejects only if autocannon itself cannot run.
 */
export function startHttpLoad(options: HttpLoadOptions, signal?: AbortSignal): { result: Promise<HttpLoadStats> } {
  const base = validate(options);
  const sessions = options.sessionIds;
  const filter = new URLSearchParams();
  if (options.filter?.agent_type !== undefined) filter.set("agent_type", options.filter.agent_type);
  if (options.filter?.pillar !== undefined) filter.set("pillar", options.filter.pillar);
  const query = filter.size > 0 ? `?${filter.toString()}` : "";
  const body = JSON.stringify({ to: options.to ?? { agent_type: "planner" }, payload: options.payload ?? { load: true } });
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  if (options.kind === "route") headers["content-type"] = "application/json";
  let next = 0;
  const pathOf = (session: string) =>
    options.kind === "lookup"
      ? `/v1/sessions/${encodeURIComponent(session)}/connections${query}`
      : `/v1/sessions/${encodeURIComponent(session)}/messages`;
  const request: autocannon.Request = {
    method: options.kind === "lookup" ? "GET" : "POST",
    path: pathOf(sessions[0] as string),
    headers,
    ...(options.kind === "route" ? { body } : {}),
    setupRequest: (req) => ({ ...req, path: pathOf(sessions[next++ % sessions.length] as string) }),
  };
  const result = new Promise<HttpLoadStats>((resolve, reject) => {
    if (signal?.aborted) {
      resolve(emptyStats(options.kind));
      return;
    }
    let aborted = false;
    let instance: autocannon.Instance;
    try {
      instance = autocannon(
        {
          url: base.origin,
          connections: options.connections ?? 10,
          pipelining: options.pipelining ?? 1,
          duration: options.durationS ?? 5,
          ...(options.amount !== undefined ? { amount: options.amount } : {}),
          ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
          timeout: options.timeoutS ?? 10,
          requests: [request],
        },
        (error, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (error) {
            reject(new HarnessError("HARNESS_ERR_INVALID_STATE", `autocannon could not run against ${base.origin}: ${(error as Error).message}`, { cause: error }));
            return;
          }
          resolve(toStats(options.kind, res, aborted));
        },
      );
    } catch (error) {
      reject(new HarnessError("HARNESS_ERR_INVALID_STATE", `autocannon could not start against ${base.origin}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    const onAbort = () => {
      aborted = true;
      instance.stop();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  return { result };
}

function emptyStats(kind: HttpLoadKind): HttpLoadStats {
  return { kind, requests: 0, ok: 0, non2xx: 0, statusCodes: {}, errors: 0, timeouts: 0, durationMs: 0, requestsPerSecond: 0, latency: { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }, aborted: true };
}

function toStats(kind: HttpLoadKind, res: autocannon.Result, aborted: boolean): HttpLoadStats {
  const statusCodes: Record<string, number> = {};
  for (const [code, value] of Object.entries(res.statusCodeStats ?? {})) statusCodes[code] = (value as { count?: number }).count ?? 0;
  const requests = Object.values(statusCodes).reduce((sum, n) => sum + n, 0);
  const durationMs = Math.round(res.duration * 1_000);
  return {
    kind,
    requests,
    ok: res["2xx"],
    non2xx: res.non2xx,
    statusCodes,
    errors: res.errors,
    timeouts: res.timeouts,
    durationMs,
    requestsPerSecond: durationMs > 0 ? Math.round((requests / durationMs) * 1_000_0) / 10 : 0,
    latency: { mean: res.latency.mean, p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, max: res.latency.max },
    aborted,
  };
}
