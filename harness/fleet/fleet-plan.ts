/**
 * The fleet's plan: pure functions of the seed and the options. Identities, worker assignment, the message
 * schedule and backoff delays are all computed here, so the parent, the workers and tests agree on them.
 */
import { isIP } from "node:net";
import { deriveSeed, hashUnit, SeededRandom } from "../common/random.js";
import { HarnessOptionsError } from "../errors.js";
import type { ClientFleetOptions } from "./client-fleet.js";
import type { RouteTarget } from "./fleet-events.js";

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
  maxConnectsInFlight: 64,
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
  if (!isLoopback(url.hostname)) fail(`target ${target} must be a loopback address (127.0.0.0/8, localhost or [::1]): load stays on this machine`);
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

/** Who a simulated client is: fixed by the seed and its index. */
export interface ClientIdentity {
  index: number;
  /** `c<index>`. */
  client: string;
  session: number;
  session_id: string;
  tenant_id: string;
  agent_type: string;
  pillar: string;
  /** Worker process that holds the client (all clients of a session share one). */
  worker: number;
  /** Index into `targets` of the first connect. */
  initialTarget: number;
  /** `localAddress` of the client's sockets; undefined lets the kernel choose (no bind before connect). */
  sourceAddress: string | undefined;
}

/** Session id of session number `session`. */
export function sessionIdOf(options: ResolvedClientFleetOptions, session: number): string {
  return `${options.idPrefix}-s${session}`;
}

/** Tenant id of session number `session`. */
export function tenantIdOf(options: ResolvedClientFleetOptions, session: number): string {
  return `${options.idPrefix}-t${session % options.tenants}`;
}

/** The identity of client `index`. */
export function clientIdentity(options: ResolvedClientFleetOptions, index: number): ClientIdentity {
  const session = Math.floor(index / options.clientsPerSession);
  return {
    index,
    client: `c${index}`,
    session,
    session_id: sessionIdOf(options, session),
    tenant_id: tenantIdOf(options, session),
    agent_type: options.agentTypes[Math.floor(hashUnit(options.seed, "agent_type", index) * options.agentTypes.length)] as string,
    pillar: options.pillars[Math.floor(hashUnit(options.seed, "pillar", index) * options.pillars.length)] as string,
    worker: session % options.workers,
    // Peers of one session start on different targets, so routes cross instances.
    initialTarget: index % options.targets.length,
    sourceAddress:
      options.sourceAddresses.length === 0 ? undefined : options.sourceAddresses[Math.floor(index / options.targets.length) % options.sourceAddresses.length],
  };
}

/** Indices of the clients worker `worker` holds, ascending. */
export function clientsOfWorker(options: ResolvedClientFleetOptions, worker: number): number[] {
  const out: number[] = [];
  const sessions = Math.ceil(options.clients / options.clientsPerSession);
  for (let session = worker; session < sessions; session += options.workers) {
    const end = Math.min(options.clients, (session + 1) * options.clientsPerSession);
    for (let index = session * options.clientsPerSession; index < end; index++) out.push(index);
  }
  return out;
}

/** Backoff before reconnect attempt `n` (n >= 1) of client `index`, in ms: exponential, capped, seeded jitter. */
export function backoffDelayMs(options: ResolvedClientFleetOptions, index: number, n: number): number {
  const { initialDelayMs, maxDelayMs } = options.reconnect;
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(30, Math.max(0, n - 1)));
  return Math.round(base * (0.5 + 0.5 * hashUnit(options.seed, "backoff", index, n)));
}

/**
 * Target index client `index` moves to on its `n`-th move away from `current` (the instance is going away or the
 * connect failed): a seeded pick among the other targets, so a dead or draining instance's clients spread over the
 * rest as behind a load balancer instead of all landing on its neighbour.
 */
export function nextTargetIndex(options: ResolvedClientFleetOptions, index: number, n: number, current: number, targets: number): number {
  if (targets <= 1) return 0;
  const skip = 1 + Math.floor(hashUnit(options.seed, "move", index, n) * (targets - 1));
  return (current + skip) % targets;
}

/** Delay before moving after the `n`-th drain notice of client `index`: a seeded fraction of `retryAfterMs`, in ms. */
export function drainMoveDelayMs(options: ResolvedClientFleetOptions, index: number, n: number, retryAfterMs: number): number {
  const window = Math.max(0, Math.min(retryAfterMs, 60_000));
  return Math.round(window * hashUnit(options.seed, "drain", index, n));
}

/** Kinds of route targets, in the order the planner draws them. */
export const ROUTE_KINDS = ["websocket_id", "agent_type", "pillar", "agent_type+pillar"] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

/** One planned message: who sends, to which peer (index into the sender's session), by which kind of target. */
export interface PlannedMessage {
  /** Sequence number within the worker (0, 1, ...). */
  k: number;
  /** Global client index of the sender. */
  sender: number;
  /** Global client index of the peer the target is taken from (equals `sender` when the session has one client). */
  peer: number;
  kind: RouteKind;
}

/**
 * The message schedule of one worker: the k-th call to `next()` returns the same plan for the same seed, worker
 * and options. A worker skips a planned message whose sender is not connected (the plan does not shift).
 */
export class MessagePlanner {
  readonly #random: SeededRandom;
  readonly #clients: readonly number[];
  readonly #options: ResolvedClientFleetOptions;
  #k = 0;

  constructor(options: ResolvedClientFleetOptions, worker: number, clients = clientsOfWorker(options, worker)) {
    this.#options = options;
    this.#clients = clients;
    this.#random = new SeededRandom(deriveSeed(options.seed, "messages", worker));
  }

  next(): PlannedMessage {
    // Always three draws per message, so skipping a message never shifts later ones.
    const sender = this.#clients[this.#random.int(this.#clients.length)] as number;
    const peerDraw = this.#random.next();
    const kind = ROUTE_KINDS[this.#random.int(ROUTE_KINDS.length)] as RouteKind;
    const cps = this.#options.clientsPerSession;
    const start = Math.floor(sender / cps) * cps;
    const size = Math.min(this.#options.clients, start + cps) - start;
    const peer = size <= 1 ? sender : start + ((sender - start + 1 + Math.floor(peerDraw * (size - 1))) % size);
    return { k: this.#k++, sender, peer, kind };
  }
}

/** The route target of a planned message, given the peer's identity and its current websocket_id (if known). */
export function routeTargetOf(kind: RouteKind, peer: ClientIdentity, peerWebsocketId: string | undefined): RouteTarget {
  switch (kind) {
    case "websocket_id":
      // A peer that never connected has no id yet: fall back to its agent type so the message still routes.
      return peerWebsocketId !== undefined ? { websocket_id: peerWebsocketId } : { agent_type: peer.agent_type };
    case "agent_type":
      return { agent_type: peer.agent_type };
    case "pillar":
      return { pillar: peer.pillar };
    case "agent_type+pillar":
      return { agent_type: peer.agent_type, pillar: peer.pillar };
  }
}
