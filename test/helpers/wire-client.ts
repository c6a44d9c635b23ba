/**
 * The test side of the gateway's wire protocol (docs/protocol.md): opening a real ws client, parsing the frames it
 * receives, waiting for the welcome or a given frame, and refused upgrades.
 */
import { onTestFinished } from "vitest";
import { WebSocket } from "ws";
import { retryUntil } from "../../harness/common/retry.js";

/** A frame as received: a JSON object (the protocol sends nothing else). */
export type Frame = Record<string, unknown>;

/** The welcome frame's fields a test reads. */
export interface WelcomeFrame {
  websocket_id: string;
  instance_id: string;
  session_id: string;
  resumed: boolean;
}

/** Parses one received message; a message that is not JSON becomes `{ type: "<unparseable>", raw }`. */
export function parseFrame(data: WebSocket.RawData): Frame {
  const text = data.toString();
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Frame;
  } catch {
    // Reported as unparseable below.
  }
  return { type: "<unparseable>", raw: text };
}

/** Query of a connect. */
export interface ClientQuery {
  session_id?: string;
  agent_type?: string;
  pillar?: string;
  websocket_id?: string;
}

/** A real ws client that records every frame it receives. */
export class TestClient {
  readonly frames: Array<Record<string, unknown>> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  welcome!: WelcomeFrame;

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("message", (data) => this.frames.push(parseFrame(data)));
    ws.on("error", () => undefined);
  }

  get websocketId(): string {
    return this.welcome.websocket_id;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits for the first received frame (from index `from`) that matches `predicate`. */
  async next(predicate: (frame: Record<string, unknown>) => boolean, timeoutMs = 5_000, from = 0): Promise<Record<string, unknown>> {
    return (await retryUntil(
      async () => this.frames.slice(from).find(predicate),
      (frame) => frame !== undefined,
      () => new Error(`no matching frame within ${timeoutMs}ms; got ${JSON.stringify(this.frames).slice(0, 2_000)}`),
      { timeoutMs, intervalMs: 5 },
    ))!;
  }

  /** Sends a frame with `id` and waits for the answer carrying that id. */
  async request(frame: Record<string, unknown> & { id: string | number }, timeoutMs = 5_000): Promise<Record<string, unknown>> {
    this.send(frame);
    return this.next((answer) => answer.id === frame.id && answer.type !== "message", timeoutMs);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Result of a refused upgrade. */
export interface RefusedUpgrade {
  status: number;
  body: string;
}

/** Registers cleanup for when the test finishes: Vitest's `onTestFinished`, or a concurrent test's own. */
export type OnFinished = (cleanup: () => void) => void;

/**
 * Opens a WebSocket to `gateway` with `tokenValue` and waits for the welcome. Rejects with a {@link RefusedUpgrade}
 * (as `cause`) when the upgrade is refused. Closed (terminated) when the test finishes (`onFinished`; not with
 * `track: false`).
 */
export function connectClient(
  gateway: { wsUrl: string },
  tokenValue: string | undefined,
  query: ClientQuery,
  options: { auth?: "header" | "query"; track?: boolean; autoPong?: boolean; onFinished?: OnFinished } = {},
): Promise<TestClient> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const auth = options.auth ?? "header";
  if (tokenValue !== undefined && auth === "query") params.set("token", tokenValue);
  const headers = tokenValue !== undefined && auth === "header" ? { authorization: `Bearer ${tokenValue}` } : undefined;
  const ws = new WebSocket(`${gateway.wsUrl}?${params.toString()}`, { headers, perMessageDeflate: false, autoPong: options.autoPong ?? true });
  const client = new TestClient(ws);
  if (options.track !== false) (options.onFinished ?? onTestFinished)(() => client.terminate());
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        const refused: RefusedUpgrade = { status: res.statusCode ?? 0, body };
        reject(Object.assign(new Error(`upgrade refused with ${refused.status}: ${body}`), { refused }));
      });
    });
    ws.once("error", (error) => reject(error));
    client
      .next((frame) => frame.type === "welcome", 10_000)
      .then((welcome) => {
        client.welcome = welcome as unknown as WelcomeFrame;
        resolve(client);
      }, reject);
  });
}

/** Clients {@link connectMany} opens at once. */
const CONNECT_BATCH = 50;

/**
 * Opens `n` clients to `gateway`, {@link CONNECT_BATCH} at a time, client `i` in session `sessionOf(i)` (agent type
 * `a`, pillar `p`, the token in the query, as a client proxy passes it on); resolves with them in that order once each
 * is welcomed. Each is terminated when the test finishes.
 */
export async function connectMany(gateway: { wsUrl: string }, tokenValue: string, sessionOf: (i: number) => string, n: number, onFinished: OnFinished = onTestFinished): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < n; i += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, (_, j) =>
      connectClient(gateway, tokenValue, { session_id: sessionOf(i + j), agent_type: "a", pillar: "p" }, { auth: "query", onFinished }),
    );
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/** Connects and expects the upgrade to be refused; resolves with the status and body. */
export async function expectRefused(gateway: { wsUrl: string }, tokenValue: string | undefined, query: ClientQuery, auth: "header" | "query" = "header"): Promise<RefusedUpgrade> {
  try {
    const client = await connectClient(gateway, tokenValue, query, { auth });
    client.terminate();
  } catch (error) {
    const refused = (error as { refused?: RefusedUpgrade }).refused;
    if (refused) return refused;
    throw error;
  }
  throw new Error("upgrade was accepted, expected a refusal");
}
