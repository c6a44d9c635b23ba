import { setTimeout as delay } from "node:timers/promises";
import WebSocket from "ws";
import { httpRequest } from "../common/http-request.js";
import { mintClientToken } from "../common/jwt.js";

/** Longest a single probe request may take before it counts as timed out, in ms. */
export const PROBE_TIMEOUT_MS = 5_000;

/** What one HTTP probe saw. `status` 0 means no HTTP answer (`error` says why). */
export interface HttpProbeResult {
  status: number;
  /** Parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  /** From sending the request to the whole body, in ms. */
  latency_ms: number;
  error?: string;
}

/** Mints a token of `tenantId` valid for an hour. */
export function tenantToken(authSecret: string, tenantId: string): string {
  return mintClientToken(authSecret, { tenantId });
}

/** Sends one HTTP request with a Bearer token and a JSON body (if any); never throws. */
export async function httpProbe(url: string, options: { token: string; method?: string; body?: unknown; timeoutMs?: number }): Promise<HttpProbeResult> {
  const t0 = performance.now();
  try {
    const { status, text } = await httpRequest(url, {
      method: options.method ?? "GET",
      headers: { authorization: `Bearer ${options.token}`, ...(options.body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      timeoutMs: options.timeoutMs ?? PROBE_TIMEOUT_MS,
    });
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text as evidence.
    }
    return { status, body, latency_ms: round(performance.now() - t0) };
  } catch (error) {
    return { status: 0, body: null, latency_ms: round(performance.now() - t0), error: (error as Error).message };
  }
}

/** `{ code }` of an error body `{"error":{"code","message"}}`, if it is one. */
export function errorCode(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof error?.code === "string" ? error.code : undefined;
}

/**
 * How long a probe asks again while the gateway answers that its registry is unavailable (`503` with
 * `REGISTRY_UNAVAILABLE`, or that error frame), in ms from the first such answer. Such an answer never reached the
 * registry and says nothing of what a probe judges (an expiry, a tenant's isolation): a loaded 2-core machine once
 * stalled both gateways' Redis commands past their 1 s timeout for about 330 ms (clock-skew's lookups, one CI run). Twice that timeout covers such a
 * stall; an answer still unavailable after it is judged as it is.
 */
export const UNAVAILABLE_RETRY_WINDOW_MS = 2_000;
/** Pause before a probe asks again, ms. */
const UNAVAILABLE_RETRY_PAUSE_MS = 100;

/** An HTTP answer or a connect refusal `503 REGISTRY_UNAVAILABLE`, or an error frame of that code. */
export function isRegistryUnavailable(answer: { status?: number; body?: unknown; type?: unknown; code?: unknown }): boolean {
  if (answer.type === "error") return answer.code === "REGISTRY_UNAVAILABLE";
  return answer.status === 503 && errorCode(answer.body) === "REGISTRY_UNAVAILABLE";
}

/**
 * Runs `ask` until `unavailable` is false of its answer, or {@link UNAVAILABLE_RETRY_WINDOW_MS} after its first
 * unavailable answer (or once `signal` aborts); resolves with the last answer and how many times it asked again.
 */
export async function askWhileUnavailable<T>(ask: () => Promise<T>, unavailable: (answer: T) => boolean, signal?: AbortSignal): Promise<{ answer: T; retries: number }> {
  let firstUnavailable: number | undefined;
  for (let retries = 0; ; retries++) {
    const answer = await ask();
    if (!unavailable(answer)) return { answer, retries };
    firstUnavailable ??= Date.now();
    if (Date.now() - firstUnavailable >= UNAVAILABLE_RETRY_WINDOW_MS || signal?.aborted) return { answer, retries };
    await delay(UNAVAILABLE_RETRY_PAUSE_MS);
  }
}

/**
 * {@link openProbeSocket}, asked again while the connect is refused `503 REGISTRY_UNAVAILABLE` (the gateway's fast
 * failure when its registry write timed out: nothing was registered), within {@link UNAVAILABLE_RETRY_WINDOW_MS}.
 */
export function openProbeSocketWhileUnavailable(options: OpenProbeSocketOptions, signal?: AbortSignal): Promise<{ answer: ProbeConnectResult; retries: number }> {
  return askWhileUnavailable(
    () => openProbeSocket(options),
    (result) => !result.ok && isRegistryUnavailable(result),
    signal,
  );
}

/** Rounds a duration to 0.1 ms. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The welcome frame of wire protocol v1. */
export interface Welcome {
  websocket_id: string;
  instance_id: string;
  session_id: string;
  resumed: boolean;
}

/** What a probe connect saw: a welcome, or a refusal (HTTP status of the upgrade, or a close/error before any welcome). */
export type ProbeConnectResult =
  | { ok: true; socket: ProbeSocket; welcome: Welcome; latency_ms: number }
  | { ok: false; status?: number; body?: unknown; close_code?: number; error?: string; latency_ms: number };

/** One raw WebSocket of a probe: it answers pings (unless cut) and matches answers to requests by `id`. */
export class ProbeSocket {
  readonly ws: WebSocket;
  readonly #waiting = new Map<string, (frame: Record<string, unknown>) => void>();
  /** Frames that matched no request (e.g. routed messages), in arrival order. */
  readonly unsolicited: Record<string, unknown>[] = [];
  #seq = 0;
  // Request ids unique across probe sockets, so a routed probe message is recognisable in the fleet's history.
  readonly #tag = Math.random().toString(36).slice(2, 8);

  constructor(ws: WebSocket) {
    this.ws = ws;
    // Errors after the handshake end the socket; its close is what probes look at. One listener answers every request
    // still waiting (a burst of hundreds at once must not add a listener each).
    ws.on("error", () => undefined);
    ws.on("close", () => {
      for (const waiter of [...this.#waiting.values()]) waiter({ type: "closed" });
    });
    ws.on("message", (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return;
      }
      const id = frame.id === undefined ? undefined : String(frame.id);
      const waiter = id !== undefined && frame.type !== "message" ? this.#waiting.get(id) : undefined;
      if (waiter) {
        this.#waiting.delete(id!);
        waiter(frame);
      } else this.unsolicited.push(frame);
    });
  }

  /** Sends `frame` with a fresh `id` and resolves with its answer, or `{ type: "timeout" }` / `{ type: "closed" }`. */
  request(frame: Record<string, unknown>, timeoutMs = PROBE_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const id = `probe-${this.#tag}-${++this.#seq}`;
    return new Promise((resolve) => {
      if (this.ws.readyState !== WebSocket.OPEN) return resolve({ type: "closed" });
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve({ type: "timeout" });
      }, timeoutMs);
      const done = (answer: Record<string, unknown>) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(answer);
      };
      this.#waiting.set(id, done);
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  /**
   * Cuts the socket from the client side without a close frame or FIN: it stops reading, so pings go unanswered
   * and the gateway sees a half-open socket. {@link destroy} ends it for good.
   */
  cut(): void {
    const raw = (this.ws as unknown as { _socket?: import("node:net").Socket })._socket;
    this.ws.removeAllListeners("ping");
    raw?.pause();
    raw?.removeAllListeners("data");
  }

  /** Whether the socket is open. */
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Closes with 1000 and waits for the close (bounded). */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2_000);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000);
    });
  }

  /** Drops the TCP connection at once. */
  destroy(): void {
    this.ws.terminate();
  }
}

/** Options of {@link openProbeSocket}. */
export interface OpenProbeSocketOptions {
  /** `ws://host:port` of the instance. */
  baseUrl: string;
  /** WebSocket path of the SUT. @default "/ws" */
  wsPath?: string;
  token: string;
  /** The session to connect to; `null` leaves `session_id` out of the query (a malformed connect). */
  sessionId: string | null;
  agentType?: string;
  pillar?: string;
  /** Resume this id. */
  websocketId?: string;
  timeoutMs?: number;
}

/** Opens one probe WebSocket and waits for its welcome or its refusal; never throws. */
export function openProbeSocket(options: OpenProbeSocketOptions): Promise<ProbeConnectResult> {
  const query = new URLSearchParams({ ...(options.sessionId !== null ? { session_id: options.sessionId } : {}), agent_type: options.agentType ?? "probe", pillar: options.pillar ?? "probe" });
  if (options.websocketId !== undefined) query.set("websocket_id", options.websocketId);
  const t0 = performance.now();
  const ws = new WebSocket(`${options.baseUrl}${options.wsPath ?? "/ws"}?${query}`, { headers: { authorization: `Bearer ${options.token}` } });
  const socket = new ProbeSocket(ws);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeConnectResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.off("message", onMessage);
      if (!result.ok) ws.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: "timeout", latency_ms: round(performance.now() - t0) }), options.timeoutMs ?? PROBE_TIMEOUT_MS);
    const onMessage = (data: WebSocket.RawData) => {
      let frame: Record<string, unknown> = {};
      try {
        frame = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        // A non-JSON first frame is not a welcome.
      }
      if (frame.type === "welcome") {
        socket.unsolicited.length = 0;
        finish({ ok: true, socket, welcome: frame as unknown as Welcome, latency_ms: round(performance.now() - t0) });
      } else finish({ ok: false, body: frame, error: "first frame is not a welcome", latency_ms: round(performance.now() - t0) });
    };
    ws.on("message", onMessage);
    ws.once("unexpected-response", (_request, response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.once("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep text
        }
        finish({ ok: false, status: response.statusCode ?? 0, body, latency_ms: round(performance.now() - t0) });
      });
      response.once("error", () => finish({ ok: false, status: response.statusCode ?? 0, latency_ms: round(performance.now() - t0) }));
    });
    ws.once("close", (code) => finish({ ok: false, close_code: code, latency_ms: round(performance.now() - t0) }));
    ws.once("error", (error) => finish({ ok: false, error: error.message, latency_ms: round(performance.now() - t0) }));
  });
}
