/**
 * Options of the client fleet: the input type, defaults, validation and the resolved form the workers receive.
 * Validated once, by the `ClientFleet` constructor; everything else reads the resolved, frozen object.
 */
import { isIP } from "node:net";
import { HarnessOptionsError } from "../errors.js";
import type { FleetEvent } from "./fleet-events.js";
import { isLocalNamespaceAddress } from "../runtime/network-namespaces.js";

/** Options of `ClientFleet`. Validated once by the constructor (TypeError with code `HARNESS_ERR_INVALID_OPTIONS`). */
export interface ClientFleetOptions {
  /** Gateway base URLs, e.g. `ws://127.0.0.1:PORT`; the fleet adds the path `/ws`. At least one. */
  targets: string[];
  /** Number of simulated clients (>= 1). */
  clients: number;
  /** HS256 secret the fleet mints client tokens with (the gateway's `AUTH_SECRET`). */
  authSecret: string;
  /** Fixes every random choice of the fleet: identities, targets, message schedule, backoff jitter. */
  seed: number;
  /** Worker processes. @default enough for at most `maxSocketsPerWorker` clients each (and at most one per session) */
  workers?: number;
  /** Most clients one worker holds (two sockets each during moves stay below the 20,000 open-files limit). @default 8000 */
  maxSocketsPerWorker?: number;
  /**
   * `localAddress` values, spread over clients round-robin; ~28k ephemeral ports each. Unset, the kernel picks the
   * source (127.0.0.1) without a bind per connect. @default [] (kernel's choice)
   */
  sourceAddresses?: string[];
  /** New connections per second across the fleet during the ramp; 0 = as fast as the workers go. @default 0 */
  rampPerSecond?: number;
  /**
   * Only clients with an index below this are ramped (step loads; raise it later with `setRampLimit`).
   * @default clients (everyone)
   */
  rampLimit?: number;
  /**
   * Most connects in flight per worker. Each connect waits for the server to accept, answer 101 and welcome, so
   * on loaded cores (server processes waiting for their turn) the rate is this window over that round trip: a
   * deeper window keeps the servers' accept queues busy, and more handshakes finish per wakeup of the worker.
   * @default 256
   */
  maxConnectsInFlight?: number;
  /** Route messages per second across the fleet; 0 = none (change later with `setMessageRate`). @default 0 */
  messageRatePerSecond?: number;
  /** Number of tenants; sessions are spread over them. @default 2 */
  tenants?: number;
  /** Clients per session (the peers a client routes to). @default 4 */
  clientsPerSession?: number;
  /** Agent types a client is given (seeded pick). @default ["planner", "executor", "observer"] */
  agentTypes?: string[];
  /** Pillars a client is given (seeded pick). @default ["alpha", "beta"] */
  pillars?: string[];
  /** Reconnect backoff: delay = min(max, initial * 2^(n-1)) * (0.5 + 0.5 * jitter), jitter seeded. */
  reconnect?: {
    /** @default 100 */
    initialDelayMs?: number;
    /** @default 5000 */
    maxDelayMs?: number;
  };
  /** Prefix of session ids and tenant ids, so runs do not collide in a shared Redis. @default `f<seed hex>` */
  idPrefix?: string;
  /** Lifetime of minted tokens in seconds. @default 86400 */
  tokenTtlS?: number;
  /** Receives every event, in batches from the workers (per client in order). When absent, workers send no events. */
  onEvent?: (event: FleetEvent) => void;
  /** Called for every stall of a worker's event loop (harness/recorder/loop-stalls.ts), with the worker's index. */
  onStall?: (worker: number, from: number, durationMs: number) => void;
  /** Run id put in every worker's environment (`TRAFFIC_COP_RUN_ID`) for the orphan sweep. @default "adhoc" */
  runId?: string;
}

/**
 * Default most clients per worker process: below {@link MAX_SOCKETS_PER_WORKER_LIMIT} (a full move of every client
 * holds two sockets each, 16,000 files). Fuller workers cost less CPU per connect (more events per wakeup of the
 * event loop, fewer processes sharing the cores): 6,000 connects cost about 0.22 ms each in one worker, 0.34 ms
 * over two, on the 2-core reference machine.
 */
export const DEFAULT_MAX_SOCKETS_PER_WORKER = 8_000;
/** Hard ceiling of clients per worker: above it a worker would run out of file descriptors. */
export const MAX_SOCKETS_PER_WORKER_LIMIT = 9_000;

/** Defaults of {@link ClientFleetOptions}. */
export const DEFAULT_CLIENT_FLEET_OPTIONS = Object.freeze({
  maxSocketsPerWorker: DEFAULT_MAX_SOCKETS_PER_WORKER,
  sourceAddresses: Object.freeze([] as string[]),
  rampPerSecond: 0,
  // 256: on the 2-core reference machine under a load average of 10-20, one worker ramping 4,500 connects against
  // 4 bare ws servers was 20-40% faster and spent 10-20% less CPU per connect than with 64, and as fast as with 1,024
  // (bench/fleet.ts, --in-flight). Bounded so that a few workers on one gateway stay far below its accept backlog
  // (Node's 511) and its MAX_PENDING_UPGRADES (2,000): a full backlog drops SYNs, which retry only after a second.
  maxConnectsInFlight: 256,
  messageRatePerSecond: 0,
  tenants: 2,
  clientsPerSession: 4,
  agentTypes: Object.freeze(["planner", "executor", "observer"]),
  pillars: Object.freeze(["alpha", "beta"]),
  reconnect: Object.freeze({ initialDelayMs: 100, maxDelayMs: 5_000 }),
  tokenTtlS: 86_400,
  runId: "adhoc",
});

/** Options with every default applied (what the workers receive), frozen. */
export interface ResolvedClientFleetOptions {
  readonly targets: readonly string[];
  readonly clients: number;
  readonly authSecret: string;
  readonly seed: number;
  readonly workers: number;
  readonly maxSocketsPerWorker: number;
  readonly sourceAddresses: readonly string[];
  readonly rampPerSecond: number;
  readonly maxConnectsInFlight: number;
  readonly rampLimit: number;
  readonly messageRatePerSecond: number;
  readonly tenants: number;
  readonly clientsPerSession: number;
  readonly agentTypes: readonly string[];
  readonly pillars: readonly string[];
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly idPrefix: string;
  readonly tokenTtlS: number;
  readonly runId: string;
}

const ID_PART = /^[A-Za-z0-9_.-]{1,64}$/;

function fail(rule: string): never {
  throw new HarnessOptionsError(`invalid client fleet options: ${rule}`);
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer >= ${min} (got ${String(value)})`);
  return v;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) fail(`${name} must be an integer >= 0 (got ${String(value)})`);
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) fail(`${name} must be a finite number >= 0 (got ${String(value)})`);
  return v;
}

/** Validates a gateway base URL: ws:// or wss:// on a loopback address, no path other than "/". */
export function validateTarget(target: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    fail(`target ${JSON.stringify(target)} is not a URL (expected e.g. "ws://127.0.0.1:8080")`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") fail(`target ${target} must use ws:// or wss://`);
  if (!isLoopback(url.hostname) && !isLocalNamespaceAddress(url.hostname)) {
    fail(`target ${target} must be a loopback address (127.0.0.0/8, localhost or [::1]) or a network namespace's address of this machine (10.201.x.y): load stays on this machine`);
  }
  if (url.pathname !== "/" && url.pathname !== "") fail(`target ${target} must have no path (the fleet adds /ws)`);
  return `${url.protocol}//${url.host}`;
}

/** Whether `host` is a loopback address or name. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** Applies defaults, validates every rule once and freezes the result. */
export function resolveClientFleetOptions(options: ClientFleetOptions): ResolvedClientFleetOptions {
  if (typeof options !== "object" || options === null) fail("options must be an object");
  const d = DEFAULT_CLIENT_FLEET_OPTIONS;
  if (!Array.isArray(options.targets) || options.targets.length === 0) fail("targets must be a non-empty array of ws:// URLs");
  const targets = options.targets.map(validateTarget);
  const clients = positiveInt("clients", options.clients, 0);
  if (typeof options.authSecret !== "string" || options.authSecret.length === 0) fail("authSecret must be a non-empty string");
  if (!Number.isInteger(options.seed)) fail(`seed must be an integer (got ${String(options.seed)})`);
  const maxSocketsPerWorker = positiveInt("maxSocketsPerWorker", options.maxSocketsPerWorker, d.maxSocketsPerWorker);
  if (maxSocketsPerWorker > MAX_SOCKETS_PER_WORKER_LIMIT) fail(`maxSocketsPerWorker must be <= ${MAX_SOCKETS_PER_WORKER_LIMIT} (open-files limit per process)`);
  const clientsPerSession = positiveInt("clientsPerSession", options.clientsPerSession, d.clientsPerSession);
  const sessions = Math.ceil(clients / clientsPerSession);
  const workers = positiveInt("workers", options.workers, Math.min(sessions, Math.ceil(clients / maxSocketsPerWorker)));
  if (workers > sessions) fail(`workers (${workers}) must be <= sessions (${sessions}): a session's clients share one worker`);
  if (Math.ceil(sessions / workers) * clientsPerSession > MAX_SOCKETS_PER_WORKER_LIMIT) {
    fail(`${clients} clients over ${workers} workers exceeds ${MAX_SOCKETS_PER_WORKER_LIMIT} sockets per worker: add workers`);
  }
  const sourceAddresses = options.sourceAddresses ?? [...d.sourceAddresses];
  if (!Array.isArray(sourceAddresses) || (options.sourceAddresses !== undefined && sourceAddresses.length === 0)) fail("sourceAddresses must be a non-empty array");
  for (const address of sourceAddresses) {
    if (!isLoopback(address) || address === "localhost") fail(`source address ${JSON.stringify(address)} must be a loopback IP such as 127.0.0.2`);
  }
  const list = (name: string, value: readonly string[] | undefined, fallback: readonly string[]) => {
    const v = value ?? fallback;
    if (!Array.isArray(v) || v.length === 0 || !v.every((item) => typeof item === "string" && ID_PART.test(item))) {
      fail(`${name} must be a non-empty array of ids matching ${ID_PART}`);
    }
    return Object.freeze([...v]);
  };
  const initialDelayMs = nonNegative("reconnect.initialDelayMs", options.reconnect?.initialDelayMs, d.reconnect.initialDelayMs);
  const maxDelayMs = nonNegative("reconnect.maxDelayMs", options.reconnect?.maxDelayMs, d.reconnect.maxDelayMs);
  if (maxDelayMs < initialDelayMs) fail(`reconnect.maxDelayMs (${maxDelayMs}) must be >= reconnect.initialDelayMs (${initialDelayMs})`);
  const idPrefix = options.idPrefix ?? `f${(options.seed >>> 0).toString(16)}`;
  if (!ID_PART.test(idPrefix)) fail(`idPrefix must match ${ID_PART}`);
  return Object.freeze({
    targets: Object.freeze(targets),
    clients,
    authSecret: options.authSecret,
    seed: options.seed,
    workers,
    maxSocketsPerWorker,
    sourceAddresses: Object.freeze([...sourceAddresses]),
    rampPerSecond: nonNegative("rampPerSecond", options.rampPerSecond, d.rampPerSecond),
    rampLimit: nonNegativeInt("rampLimit", options.rampLimit, clients),
    maxConnectsInFlight: positiveInt("maxConnectsInFlight", options.maxConnectsInFlight, d.maxConnectsInFlight),
    messageRatePerSecond: nonNegative("messageRatePerSecond", options.messageRatePerSecond, d.messageRatePerSecond),
    tenants: positiveInt("tenants", options.tenants, d.tenants),
    clientsPerSession,
    agentTypes: list("agentTypes", options.agentTypes, d.agentTypes),
    pillars: list("pillars", options.pillars, d.pillars),
    reconnect: Object.freeze({ initialDelayMs, maxDelayMs }),
    idPrefix,
    tokenTtlS: positiveInt("tokenTtlS", options.tokenTtlS, d.tokenTtlS),
    runId: options.runId ?? d.runId,
  });
}
