/**
 * WebSocket connection floods: `count` upgrades as fast as `concurrency` allows, bounded in count and time, on
 * loopback only. Runs in the calling process. `startConnectionFlood(options, signal)` returns `{ result }`.
 */
import WebSocket from "ws";
import { LatencyHistogram, type LatencySummary } from "../common/histogram.js";
import { mintClientToken } from "../common/jwt.js";
import { HarnessOptionsError } from "../errors.js";
import { isLoopback, validateTarget } from "../fleet/fleet-options.js";

/** Most sockets a flood may hold open at once in one process (open-files limit 20,000). */
export const MAX_HELD_SOCKETS = 8_000;
/** Most connects one flood may make when it does not hold them. */
export const MAX_FLOOD_COUNT = 200_000;
/** Longest flood, ms. */
export const MAX_FLOOD_TIMEOUT_MS = 600_000;

const UNEXPECTED_RESPONSE = /Unexpected server response: (\d{3})/;

/** Options of {@link startConnectionFlood}. */
export interface ConnectionFloodOptions {
  /** Gateway base URL, e.g. `ws://127.0.0.1:8080` (`/ws` is added). */
  target: string;
  /** Number of connects. */
  count: number;
  /** Connects in flight at once. @default 200 */
  concurrency?: number;
  /** HS256 secret to mint one token with (or pass `token`). */
  authSecret?: string;
  /** Bearer token sent with every connect; minted from `authSecret` and `tenantId` when absent. */
  token?: string;
  /** Tenant of the minted token. @default "flood" */
  tenantId?: string;
  /** Session id of every connect. @default "flood" */
  sessionId?: string;
  /** @default "flood" */
  agentType?: string;
  /** @default "flood" */
  pillar?: string;
  /** Count a connect as done at the welcome frame (true) or at the upgrade (false). @default true */
  waitForWelcome?: boolean;
  /** Keep every socket open until all connects are done, then hold them `holdMs` (at most 8,000). @default false */
  hold?: boolean;
  /** How long to keep held sockets open after the last connect, ms. @default 0 */
  holdMs?: number;
  /** Overall bound; the flood ends (closing everything) when it passes. @default 30000 */
  timeoutMs?: number;
  /**
   * `localAddress` values used round-robin, for a loopback target. @default ["127.0.0.1"]; none (the kernel's choice)
   * for a target in a network namespace, which a loopback source cannot reach
   */
  sourceAddresses?: string[];
}

/** What a flood did. */
export interface ConnectionFloodStats {
  attempted: number;
  /** Upgrades accepted. */
  opened: number;
  /** Welcome frames received. */
  welcomed: number;
  /** Refused upgrades per HTTP status. */
  refused: Record<string, number>;
  /** Other failures per error code (ECONNREFUSED, ECONNRESET, TIMEOUT, CLOSED_BEFORE_WELCOME...). */
  errors: Record<string, number>;
  /** Most sockets open at once. */
  peakOpen: number;
  durationMs: number;
  /** Completed connects (welcomed or opened, per `waitForWelcome`) per second over the connect phase. */
  connectsPerSecond: number;
  /** Connect latency: upgrade start to welcome (or open), ms. */
  latency: LatencySummary;
  /** True when the signal or the timeout ended the flood early. */
  aborted: boolean;
}

function fail(rule: string): never {
  throw new HarnessOptionsError(`invalid connection flood options: ${rule}`);
}

/**
 * Starts a connection flood. Bad options throw a {@link HarnessOptionsError} at once; the result never rejects:
 * failures are counted in the stats.
 */
export function startConnectionFlood(options: ConnectionFloodOptions, signal?: AbortSignal): { result: Promise<ConnectionFloodStats> } {
  const target = validateTarget(options.target);
  const hold = options.hold ?? false;
  const limit = hold ? MAX_HELD_SOCKETS : MAX_FLOOD_COUNT;
  if (!(Number.isInteger(options.count) && options.count >= 1 && options.count <= limit)) fail(`count must be an integer in [1, ${limit}]${hold ? " when holding sockets" : ""} (got ${options.count})`);
  const concurrency = options.concurrency ?? 200;
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= MAX_HELD_SOCKETS)) fail(`concurrency must be an integer in [1, ${MAX_HELD_SOCKETS}]`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0 && timeoutMs <= MAX_FLOOD_TIMEOUT_MS)) fail(`timeoutMs must be in (0, ${MAX_FLOOD_TIMEOUT_MS}]`);
  const holdMs = options.holdMs ?? 0;
  if (!(holdMs >= 0 && holdMs <= timeoutMs)) fail("holdMs must be in [0, timeoutMs]");
  const loopbackTarget = isLoopback(new URL(target).hostname);
  const sources = options.sourceAddresses ?? (loopbackTarget ? ["127.0.0.1"] : []);
  if ((loopbackTarget && sources.length === 0) || !sources.every((address) => isLoopback(address) && address !== "localhost")) fail("sourceAddresses must be loopback IPs such as 127.0.0.2");
  if (!loopbackTarget && sources.length > 0) fail(`sourceAddresses must be empty for a target outside loopback (${target}): a loopback source cannot reach it`);
  let token = options.token;
  if (token === undefined) {
    if (!options.authSecret) fail("pass token or authSecret");
    token = mintClientToken(options.authSecret, { tenantId: options.tenantId ?? "flood", ttlS: Math.ceil(timeoutMs / 1_000) + 3_600 });
  }
  const query = new URLSearchParams({ session_id: options.sessionId ?? "flood", agent_type: options.agentType ?? "flood", pillar: options.pillar ?? "flood" });
  const url = `${target}/ws?${query.toString()}`;
  const waitForWelcome = options.waitForWelcome ?? true;
  const headers = { authorization: `Bearer ${token}` };

  const result = new Promise<ConnectionFloodStats>((resolve) => {
    const histogram = new LatencyHistogram();
    const stats: ConnectionFloodStats = {
      attempted: 0, opened: 0, welcomed: 0, refused: {}, errors: {}, peakOpen: 0, durationMs: 0, connectsPerSecond: 0, latency: histogram.summary(), aborted: false,
    };
    const open = new Set<WebSocket>();
    const started = performance.now();
    let connectPhaseMs = 0;
    let inFlight = 0;
    let completed = 0;
    let settled = 0;
    let finished = false;
    let holdTimer: NodeJS.Timeout | undefined;
    const count = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);

    const finish = (aborted: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      clearTimeout(holdTimer);
      signal?.removeEventListener("abort", onAbort);
      stats.aborted = aborted;
      for (const ws of open) ws.terminate();
      open.clear();
      stats.durationMs = Math.round(performance.now() - started);
      const phase = connectPhaseMs || stats.durationMs;
      stats.connectsPerSecond = phase > 0 ? Math.round((completed / phase) * 1_000 * 10) / 10 : 0;
      stats.latency = histogram.summary();
      resolve(stats);
    };
    const onAbort = () => finish(true);
    const deadline = setTimeout(() => finish(true), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    const settle = (ws: WebSocket, keep: boolean) => {
      inFlight--;
      settled++;
      if (!keep) {
        open.delete(ws);
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        else ws.terminate();
      }
      if (settled === options.count) {
        connectPhaseMs = performance.now() - started;
        if (hold && holdMs > 0) holdTimer = setTimeout(() => finish(false), holdMs);
        else finish(false);
        return;
      }
      pump();
    };

    const connectOne = (i: number) => {
      stats.attempted++;
      inFlight++;
      const t0 = performance.now();
      const ws = new WebSocket(url, { perMessageDeflate: false, headers, ...(sources.length > 0 ? { localAddress: sources[i % sources.length] } : {}), handshakeTimeout: Math.min(10_000, timeoutMs) });
      let done = false;
      let failure: string | undefined;
      const complete = () => {
        if (done) return;
        done = true;
        completed++;
        histogram.recordMs(performance.now() - t0);
        settle(ws, hold);
      };
      ws.on("open", () => {
        stats.opened++;
        open.add(ws);
        stats.peakOpen = Math.max(stats.peakOpen, open.size);
        if (!waitForWelcome) complete();
      });
      ws.on("message", (data) => {
        if (done || !waitForWelcome) return;
        if (data.toString().includes('"welcome"')) {
          stats.welcomed++;
          complete();
        }
      });
      ws.on("error", (error: Error & { code?: string }) => {
        const status = UNEXPECTED_RESPONSE.exec(error.message);
        failure = status ? `HTTP_${status[1]}` : (error.code ?? (error.message.includes("handshake has timed out") ? "TIMEOUT" : "ERROR"));
      });
      ws.on("close", () => {
        open.delete(ws);
        if (done) return;
        done = true;
        if (failure?.startsWith("HTTP_")) count(stats.refused, failure.slice(5));
        else count(stats.errors, failure ?? "CLOSED_BEFORE_WELCOME");
        if (!finished) settle(ws, false);
      });
    };

    let next = 0;
    const pump = () => {
      while (!finished && next < options.count && inFlight < concurrency) connectOne(next++);
    };
    if (signal?.aborted) finish(true);
    else pump();
  });
  return { result };
}
