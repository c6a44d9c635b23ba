import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createRequire } from "node:module";
import { setTimeout as delay } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { WebSocket } from "ws";
import { httpRequest } from "../common/http-request.js";
import { mintClientToken } from "../common/jwt.js";
import { HarnessError } from "../errors.js";
import { processRssBytes } from "../runtime/sweep.js";

/** Tenant of the slow-consumer probes (a tenant of their own: nothing else of the run is routed to them). */
export const SLOW_CONSUMER_TENANT = "slow-consumer-probe";
/** How often the gateway's metrics and RSS are read during the fault, in ms. */
const SAMPLE_INTERVAL_MS = 200;
/** Routes in flight at once: enough to keep the rate on a loaded machine, bounded so the driver itself stays small. */
const MAX_IN_FLIGHT = 64;
/** How long the reader may take to receive the last routes after the sending stopped, in ms. */
const DRAIN_WAIT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long a route, a metrics read or a lookup may take before it fails (a route then counts among `route_errors`):
 * a gateway answers within its 1 s Redis command timeout plus a loaded machine's delays, and the load must end by
 * itself against a gateway that never answers.
 */
const REQUEST_TIMEOUT_MS = 5_000;

/** Options of {@link runSlowConsumers}. */
export interface SlowConsumerOptions {
  /** `ws://host:port` of the instance (direct, not through a client proxy). */
  wsUrl: string;
  /** `http://host:port` of the same instance: routes are posted there, metrics read there. */
  httpUrl: string;
  authSecret: string;
  /** Stalled clients (they stop reading right after their welcome). */
  consumers: number;
  /** Payload size of each routed message, bytes. */
  messageBytes: number;
  /** Routes per second to the session (each reaches every stalled client and the reader). */
  ratePerSecond: number;
  durationMs: number;
  /** The instance's process id, to read its RSS from /proc (local runtime); without it RSS is not measured. */
  pid?: number;
  signal?: AbortSignal;
  /** Per HTTP request, in ms. @default {@link REQUEST_TIMEOUT_MS} */
  requestTimeoutMs?: number;
}

/** What {@link runSlowConsumers} saw; recorded as the `slow_consumers` fault's `detail`. */
export interface SlowConsumerStats {
  session_id: string;
  consumers: number;
  message_bytes: number;
  /** Routes acknowledged by the gateway (HTTP 200). */
  routes_acked: number;
  route_errors: number;
  /** Bytes routed to each stalled client (acked routes × frame size). */
  bytes_per_consumer: number;
  /**
   * The reader that kept reading: acked routes it never received, duplicates, and the close code it got before the
   * fault ended (null: still open). 4008 means the gateway shed the reader itself: this process did not read fast
   * enough (starved of CPU), so the stalled clients' figures say nothing.
   */
  reader: { received: number; lost: number; duplicates: number; closed_code: number | null };
  /** Stalled clients: how many lost their record (shed), and when, in ms from the stall. */
  stalled: { shed: number; kept: number; first_shed_ms: number | null; last_shed_ms: number | null; close_codes: Record<string, number> };
  /** The gateway during the fault: largest per-socket send buffer seen, shed counter, RSS at the start and the most. */
  gateway: { send_buffer_max_bytes: number; slow_consumers_total: number | null; rss_start_bytes: number | null; rss_max_bytes: number | null };
}

function metric(text: string, name: string): number | null {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(" ") + 1));
}

function rssBytes(pid: number | undefined): number | null {
  return pid === undefined ? null : (processRssBytes(pid) ?? null);
}

/** Opens one stalled client's socket, kept in `sockets` from the start (so that it is closed however the opening ends). */
function open(url: string, sockets: WebSocket[]): Promise<{ ws: WebSocket; websocketId: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: CONNECT_TIMEOUT_MS, perMessageDeflate: false });
    sockets.push(ws);
    // The instance refused a valid token (an HTTP status, a reset, a frame other than the welcome): its failure.
    ws.on("error", (error) => reject(new HarnessError("HARNESS_ERR_PROBE_REFUSED", `a slow-consumer probe's connection was refused: ${error.message}`)));
    ws.once("message", (data) => {
      let frame: { type?: string; websocket_id?: string } = {};
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        // Not JSON: refused below with the text.
      }
      if (frame.type === "welcome" && frame.websocket_id) resolve({ ws, websocketId: frame.websocket_id });
      else reject(new HarnessError("HARNESS_ERR_PROBE_REFUSED", `a slow-consumer probe expected a welcome, got ${JSON.stringify(data.toString().slice(0, 200))}`));
    });
  });
}

/**
 * The reader's code, run in a worker thread of its own: this thread also posts the routes (up to 24 MB/s of request
 * bodies: 400 routes/s of 60 kB in the nemesis test, 200/s in the scenario) and its pauses (a collection, a busy turn, a loaded machine) must not stop the
 * reader, or the gateway rightly sheds the reader too (4008) and the fault judges nothing. Counts the `message`
 * frames by id; answers `report` with the counts and the close code (null while open).
 */
const READER_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const WebSocket = require(workerData.wsModule);
const received = new Map();
let closedCode = null;
const ws = new WebSocket(workerData.url, { handshakeTimeout: workerData.timeoutMs, perMessageDeflate: false });
ws.on("error", (error) => parentPort.postMessage({ type: "error", message: String(error && error.message || error) }));
ws.once("close", (code) => { closedCode = code; });
ws.on("message", (data) => {
  const frame = JSON.parse(data.toString());
  if (frame.type === "welcome") parentPort.postMessage({ type: "open" });
  else if (frame.type === "message" && typeof frame.id === "string") received.set(frame.id, (received.get(frame.id) || 0) + 1);
});
parentPort.on("message", (message) => {
  if (message === "report") parentPort.postMessage({ type: "report", received: [...received], closedCode });
});
`;

/** The reader of {@link runSlowConsumers}, in a worker thread ({@link READER_THREAD}). */
class ReaderThread {
  readonly #worker: Worker;

  #failure: HarnessError | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    // A reader thread that throws ends; the next report says so (never an unhandled 'error' event here).
    worker.on("error", (error) => (this.#failure ??= new HarnessError("HARNESS_ERR_PROBE_FAILED", `the slow-consumer reader thread failed: ${String(error)}`)));
  }

  /** Opens the reader's socket and waits for its welcome. */
  static async open(url: string): Promise<ReaderThread> {
    const worker = new Worker(READER_THREAD, { eval: true, workerData: { url, wsModule: createRequire(import.meta.url).resolve("ws"), timeoutMs: CONNECT_TIMEOUT_MS } });
    const reader = new ReaderThread(worker);
    const [message] = (await Promise.race([once(worker, "message"), once(worker, "exit").then(() => [{ type: "exit", message: String(reader.#failure?.message ?? "the thread ended") }])])) as [{ type: string; message?: string }];
    if (message.type !== "open") {
      await reader.close();
      // Its socket's error is the instance's refusal; a thread that ended is the harness's own failure.
      const code = message.type === "error" ? "HARNESS_ERR_PROBE_REFUSED" : "HARNESS_ERR_PROBE_FAILED";
      throw new HarnessError(code, `the slow-consumer reader did not get its welcome: ${message.message ?? message.type}`);
    }
    return reader;
  }

  /** Frames received per route id so far, and the close code (null while open). */
  async report(): Promise<{ received: Map<string, number>; closedCode: number | null }> {
    if (this.#failure !== undefined) throw this.#failure;
    const reply = Promise.race([once(this.#worker, "message"), once(this.#worker, "exit").then(() => [undefined])]);
    this.#worker.postMessage("report");
    const [message] = (await reply) as [{ received: [string, number][]; closedCode: number | null } | undefined];
    if (message === undefined) throw this.#failure ?? new HarnessError("HARNESS_ERR_PROBE_FAILED", "the slow-consumer reader thread ended before its report");
    return { received: new Map(message.received), closedCode: message.closedCode };
  }

  /** Ends the thread, and with it the reader's socket. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * Opens `consumers` clients in a session of their own that stop reading right after their welcome
 * (`WebSocket#pause()`: the kernel buffers fill, then the gateway's), and one reader that keeps reading; posts
 * `ratePerSecond` routes of `messageBytes` to the whole session for `durationMs`; meanwhile reads the instance's
 * `/metrics` and RSS and its session lookup (a stalled client whose record is gone was shed). Then lets the stalled
 * clients read again (to see their close codes), closes everything and resolves with what it saw. Bounded: at most
 * `consumers + 1` sockets, `MAX_IN_FLIGHT` requests, `durationMs` plus the drain wait.
 */
export async function runSlowConsumers(options: SlowConsumerOptions): Promise<SlowConsumerStats> {
  const sessionId = `slow-${randomBytes(4).toString("hex")}`;
  const token = mintClientToken(options.authSecret, { tenantId: SLOW_CONSUMER_TENANT });
  const url = (agent: string) => `${options.wsUrl}/ws?session_id=${sessionId}&agent_type=${agent}&pillar=p&token=${token}`;
  const payload = "x".repeat(options.messageBytes);
  const sockets: WebSocket[] = [];
  let reader: ReaderThread | undefined;
  try {
    reader = await ReaderThread.open(url("reader"));
    // Route ids are made by the gateway (the HTTP answer's `id`, the message frame's `id`).
    const acked = new Set<string>();
    const stalled = await Promise.all(Array.from({ length: options.consumers }, () => open(url("stalled"), sockets)));
    const closeCodes: Record<string, number> = {};
    for (const { ws } of stalled) {
      ws.pause();
      ws.once("close", (code) => (closeCodes[code] = (closeCodes[code] ?? 0) + 1));
    }
    const stallAt = Date.now();
    const rssStart = rssBytes(options.pid);
    const shedAt = new Map<string, number>();
    let bufferMax = 0;
    let rssMax = rssStart;
    let slowTotal: number | null = null;
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    // One body for every route: no 60 kB string made per request in this process, which must also keep reading.
    const body = JSON.stringify({ to: {}, payload });
    const timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const sample = async () => {
      const [metrics, lookup, rss] = await Promise.all([
        httpRequest(`${options.httpUrl}/metrics`, { timeoutMs }).then((r) => r.text, () => ""),
        httpRequest(`${options.httpUrl}/v1/sessions/${sessionId}/connections`, { headers, timeoutMs })
          .then((r) => (r.status === 200 ? (JSON.parse(r.text) as { connections: { websocket_id: string }[] }) : undefined))
          .catch(() => undefined),
        rssBytes(options.pid),
      ]);
      bufferMax = Math.max(bufferMax, metric(metrics, "traffic_cop_send_buffer_max_bytes") ?? 0);
      slowTotal = metric(metrics, "traffic_cop_slow_consumers_total") ?? slowTotal;
      if (rss !== null) rssMax = Math.max(rssMax ?? 0, rss);
      if (lookup) {
        const present = new Set(lookup.connections.map((c) => c.websocket_id));
        for (const { websocketId } of stalled) if (!present.has(websocketId) && !shedAt.has(websocketId)) shedAt.set(websocketId, Date.now() - stallAt);
      }
    };
    let errors = 0;
    let sent = 0;
    let inFlight = 0;
    const deadline = stallAt + options.durationMs;
    const intervalMs = 1_000 / options.ratePerSecond;
    let nextSample = stallAt;
    while (Date.now() < deadline && !options.signal?.aborted) {
      const due = Math.floor((Date.now() - stallAt) / intervalMs) + 1;
      while (sent < due && inFlight < MAX_IN_FLIGHT) {
        sent++;
        inFlight++;
        void httpRequest(`${options.httpUrl}/v1/sessions/${sessionId}/messages`, { method: "POST", headers, body, timeoutMs })
          .then((r) => {
            if (r.status !== 200) return errors++;
            acked.add((JSON.parse(r.text) as { id: string }).id);
          })
          .catch(() => errors++)
          .finally(() => inFlight--);
      }
      if (Date.now() >= nextSample) {
        nextSample = Date.now() + SAMPLE_INTERVAL_MS;
        await sample();
      }
      await delay(Math.max(1, Math.min(intervalMs, 20)));
    }
    while (inFlight > 0) await delay(10);
    await sample();
    const readerDeadline = Date.now() + DRAIN_WAIT_MS;
    let { received, closedCode: readerClosedCode } = await reader.report();
    while (Date.now() < readerDeadline && [...acked].some((id) => !received.has(id))) {
      await delay(50);
      ({ received, closedCode: readerClosedCode } = await reader.report());
    }
    const lost = [...acked].filter((id) => !received.has(id)).length;
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    for (const { ws } of stalled) ws.resume();
    const shedTimes = [...shedAt.values()];
    return {
      session_id: sessionId,
      consumers: options.consumers,
      message_bytes: options.messageBytes,
      routes_acked: acked.size,
      route_errors: errors,
      bytes_per_consumer: acked.size * options.messageBytes,
      reader: { received: received.size, lost, duplicates, closed_code: readerClosedCode },
      stalled: {
        shed: shedAt.size,
        kept: options.consumers - shedAt.size,
        first_shed_ms: shedTimes.length > 0 ? Math.min(...shedTimes) : null,
        last_shed_ms: shedTimes.length > 0 ? Math.max(...shedTimes) : null,
        close_codes: closeCodes,
      },
      gateway: { send_buffer_max_bytes: bufferMax, slow_consumers_total: slowTotal, rss_start_bytes: rssStart, rss_max_bytes: rssMax },
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await reader?.close();
  }
}
