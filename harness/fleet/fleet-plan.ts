/**
 * The fleet's plan: pure functions of the seed and the options. Identities, worker assignment, the message
 * schedule and backoff delays are all computed here, so the parent, the workers and tests agree on them.
 */
import { deriveSeed, hashUnit, SeededRandom } from "../common/random.js";
import type { RouteTarget } from "./fleet-events.js";
import type { ResolvedClientFleetOptions } from "./fleet-options.js";

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
