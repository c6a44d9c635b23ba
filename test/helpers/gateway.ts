import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import { WebSocket } from "ws";
import { retryUntil } from "../../harness/common/retry.js";
import { signJwt } from "../../src/gateway/jwt.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(ROOT, "src", "gateway", "main.ts");
const START_TIMEOUT_MS = 15_000;
const SIGKILL_GRACE_MS = 3_000;

/** The shared secret of test gateways. */
export const TEST_AUTH_SECRET = "test-secret-do-not-use";

/** Signs a client token for the test gateways (`exp` one hour ahead unless given). */
export function token(tenantId: string, extra: Record<string, unknown> = {}, secret = TEST_AUTH_SECRET): string {
  return signJwt({ tenant_id: tenantId, exp: Math.floor(Date.now() / 1000) + 3_600, ...extra }, secret);
}

/** Options of {@link startGateway}: the gateway's environment variables, by name. */
export interface TestGatewayOptions {
  redisUrl: string;
  instanceId: string;
  /** @default "0" (pick a free port) */
  port?: number;
  env?: Record<string, string>;
}

/** How a gateway process ended. */
export interface GatewayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A gateway process started by a test. `stop()` is idempotent: SIGTERM, then SIGKILL after a grace. */
export class TestGateway implements AsyncDisposable {
  readonly lines: string[] = [];
  readonly exited: Promise<GatewayExit>;
  port = 0;
  #stopping?: Promise<GatewayExit>;

  constructor(
    readonly instanceId: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        if (this.lines.length < 5_000) this.lines.push(line);
      });
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Log lines parsed as JSON events. */
  events(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        const value = JSON.parse(line) as unknown;
        return typeof value === "object" && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** Sends SIGTERM (a drain) and resolves with the exit. */
  sigterm(): Promise<GatewayExit> {
    return (this.#stopping ??= this.#signal("SIGTERM"));
  }

  /** Kills with SIGKILL (a crash) and resolves with the exit. */
  kill9(): Promise<GatewayExit> {
    return (this.#stopping ??= this.#signal("SIGKILL"));
  }

  /** Stops (SIGTERM, SIGKILL after a grace). Idempotent. */
  stop(): Promise<GatewayExit> {
    return this.sigterm();
  }

  async #signal(signal: NodeJS.Signals): Promise<GatewayExit> {
    if (!this.hasExited) this.child.kill(signal);
    const grace = setTimeout(() => this.child.kill("SIGKILL"), signal === "SIGKILL" ? 0 : SIGKILL_GRACE_MS + 30_000);
    const exit = await this.exited;
    clearTimeout(grace);
    return exit;
  }

  /** Fetches a path of the gateway's HTTP API. */
  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.url}${path}`, init);
  }

  /** Reads one metric value from /metrics (sum over label sets matching `labels`). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await this.fetch("/metrics")).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const set = match[2] ?? "";
      if (Object.entries(labels).every(([key, value]) => set.includes(`${key}="${value}"`))) sum += Number(match[3]);
    }
    return sum;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Spawns `node --import tsx src/gateway/main.ts` with the given environment, waits for its `"event":"listening"`
 * line and for /readyz 200. Without `manual`, the process is stopped when the test finishes, pass or fail.
 */
export async function startGateway(options: TestGatewayOptions, manual = false): Promise<TestGateway> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(options.port ?? 0),
      HOST: "127.0.0.1",
      REDIS_URL: options.redisUrl,
      INSTANCE_ID: options.instanceId,
      AUTH_SECRET: TEST_AUTH_SECRET,
      ...options.env,
    },
  });
  const gateway = new TestGateway(options.instanceId, child);
  if (!manual) onTestFinished(() => gateway.kill9().then(() => undefined));
  try {
    const listening = await retryUntil(
      async () => gateway.events().find((event) => event.event === "listening"),
      (event) => event !== undefined || gateway.hasExited,
      () => new Error(`gateway ${options.instanceId} printed no listening line within ${START_TIMEOUT_MS}ms:\n${gateway.lines.join("\n")}`),
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 10 },
    );
    if (!listening) throw new Error(`gateway ${options.instanceId} exited before listening:\n${gateway.lines.join("\n")}`);
    gateway.port = Number(listening.port);
    await retryUntil(
      () => gateway.fetch("/readyz").then((res) => res.status),
      (status) => status === 200,
      (last) => new Error(`gateway ${options.instanceId} not ready within ${START_TIMEOUT_MS}ms (GET /readyz → ${String(last.value)})`),
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 20 },
    );
    return gateway;
  } catch (error) {
    await gateway.kill9();
    throw error;
  }
}

/** Starts `n` gateways (`gw-1` ... `gw-n`) on one Redis, in parallel; each is stopped when the test finishes. */
export function startGateways(n: number, redisUrl: string, env: Record<string, string> = {}): Promise<TestGateway[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startGateway({ redisUrl, instanceId: `gw-${i + 1}`, env })));
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
  welcome!: { websocket_id: string; instance_id: string; session_id: string; resumed: boolean };

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("message", (data) => {
      try {
        this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      } catch {
        this.frames.push({ type: "<unparseable>", raw: data.toString() });
      }
    });
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

/**
 * Opens a WebSocket to `gateway` with `tokenValue` and waits for the welcome. Rejects with a {@link RefusedUpgrade}
 * (as `cause`) when the upgrade is refused. Closed (terminated) when the test finishes.
 */
export function connectClient(
  gateway: { wsUrl: string },
  tokenValue: string | undefined,
  query: ClientQuery,
  options: { auth?: "header" | "query"; track?: boolean; autoPong?: boolean } = {},
): Promise<TestClient> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const auth = options.auth ?? "header";
  if (tokenValue !== undefined && auth === "query") params.set("token", tokenValue);
  const headers = tokenValue !== undefined && auth === "header" ? { authorization: `Bearer ${tokenValue}` } : undefined;
  const ws = new WebSocket(`${gateway.wsUrl}?${params.toString()}`, { headers, perMessageDeflate: false, autoPong: options.autoPong ?? true });
  const client = new TestClient(ws);
  if (options.track !== false) onTestFinished(() => client.terminate());
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
        client.welcome = welcome as TestClient["welcome"];
        resolve(client);
      }, reject);
  });
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
