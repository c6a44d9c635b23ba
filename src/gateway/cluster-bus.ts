/**
 * How gateway instances reach each other: per-instance pub/sub channels for remote delivery and eviction, and
 * liveness keys so that survivors can reap a dead instance's records. {@link LocalClusterBus} is the single-process
 * stand-in of the `memory` registry (no other instance is reachable).
 */

/** Asks the instance that holds `ids` to deliver `frame` to them and to answer with a {@link DeliverReply}. */
export interface DeliverRequest {
  t: "deliver";
  /** Request id, unique per sender. */
  r: string;
  /** The instance to answer to. */
  from: string;
  /** Target websocket ids held by the receiving instance. */
  ids: string[];
  /** The `{"type":"message"}` frame, already serialized. */
  frame: string;
}

/** How many of a {@link DeliverRequest}'s targets received the frame. */
export interface DeliverReply {
  t: "delivered";
  r: string;
  n: number;
}

/** Tells the instance that held `id` that the connection was resumed elsewhere: close the old socket, keep the record. */
export interface EvictNotice {
  t: "evict";
  id: string;
  /** The instance that now holds it. */
  by: string;
}

/** Every message on an instance channel. */
export type BusMessage = DeliverRequest | DeliverReply | EvictNotice;

/** Parses a channel message; `undefined` for anything malformed (ignored, never thrown). */
export function parseBusMessage(text: string): BusMessage | undefined {
  try {
    const value = JSON.parse(text) as Partial<BusMessage> | null;
    if (typeof value !== "object" || value === null) return undefined;
    if (value.t === "deliver" && typeof value.r === "string" && typeof value.from === "string" && Array.isArray(value.ids) && typeof value.frame === "string") {
      return value as DeliverRequest;
    }
    if (value.t === "delivered" && typeof value.r === "string" && typeof value.n === "number") return value as DeliverReply;
    if (value.t === "evict" && typeof value.id === "string" && typeof value.by === "string") return value as EvictNotice;
  } catch {
    // A foreign publisher on our channel is not our failure.
  }
  return undefined;
}

/** Callbacks a bus reports to. */
export interface ClusterBusEvents {
  /** A message arrived on this instance's channel. */
  onMessage(message: BusMessage): void;
  /** Redis stopped answering (connection lost). */
  onDown(): void;
  /** Redis answers again (after a reconnect; it may have restarted empty). The channel is subscribed again. */
  onUp(): void;
}

/** The gateway's view of the other instances. */
export interface ClusterBus {
  /** Whether Redis currently answers and this instance's channel is subscribed (always `true` for the local bus). */
  readonly healthy: boolean;
  /** Connects, subscribes to this instance's channel and starts reporting to `events`. */
  start(events: ClusterBusEvents): Promise<void>;
  /**
   * Publishes to an instance's channel; resolves with the number of subscribers that got it (0: nobody listens), or
   * `undefined` when Redis cannot tell (Redis Cluster counts only the subscribers of the node that took the PUBLISH).
   */
  publish(instanceId: string, message: BusMessage): Promise<number | undefined>;
  /** Writes this instance's liveness key with TTL `ttlMs` and lists the instance in the instance set. */
  refreshLiveness(ttlMs: number): Promise<void>;
  /** Removes this instance's liveness key and instance-set entry (after a drain). */
  removeLiveness(): Promise<void>;
  /** Instances listed in the instance set whose liveness key has expired (never this one). */
  deadInstances(): Promise<string[]>;
  /** Claims a dead instance for reaping; exactly one survivor gets `true`. */
  claimDead(instanceId: string): Promise<boolean>;
  /** Hands a claimed instance back (reaping failed) so that a later scan retries it. */
  requeueDead(instanceId: string): Promise<void>;
  /**
   * Reads the reverse index without any tenant check: the session a websocket id lives in, or `null`. Used to refuse
   * resuming an id into another session, and by the `no-tenant-check` defect.
   */
  sessionOfAnyTenant(websocketId: string): Promise<string | null>;
  /** Disconnects. Idempotent. */
  close(): Promise<void>;
}

/** The bus of a lone instance (`REGISTRY=memory`): nobody else exists, nothing is published. */
export class LocalClusterBus implements ClusterBus {
  readonly healthy = true;
  async start(): Promise<void> {}
  async publish(): Promise<number> {
    return 0;
  }
  async refreshLiveness(): Promise<void> {}
  async removeLiveness(): Promise<void> {}
  async deadInstances(): Promise<string[]> {
    return [];
  }
  async claimDead(): Promise<boolean> {
    return false;
  }
  async requeueDead(): Promise<void> {}
  async sessionOfAnyTenant(): Promise<string | null> {
    return null;
  }
  async close(): Promise<void> {}
}
