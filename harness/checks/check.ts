import type { RegistryReader } from "../recorder/registry-reader.js";
import type { CheckResult, RunEvent, Sample } from "../report/run-result.js";

/** Invariant names of docs/design.md, as they appear in reports. */
export type CheckName =
  | "restart-survival"
  | "cross-instance-lookup"
  | "ttl-expiry"
  | "no-ghosts"
  | "tenant-isolation"
  | "delivery"
  | "degraded-mode"
  | "protocol-conformance"
  | "convergence"
  | "clock-skew"
  | "half-open-cleanup"
  | "slow-consumer"
  | "prompt-cleanup"
  | "state-audit"
  | "key-ttl"
  | "pause-recovery"
  | "packet-faults"
  | "metrics-agree";

/** Bounds and thresholds the checks apply (set by the scenario's profile). */
export interface CheckThresholds {
  /** Longest a client may stay disconnected across a restart, in ms. */
  reconnectBoundMs: number;
  /** How long the registry may take to match the live connections once settled, in ms. */
  settleBoundMs: number;
  /** Least fraction of acknowledged deliveries that must reach their client (0..1). */
  minDeliveryRatio: number;
  /** While Redis is unreachable, longest a lookup may take to fail with `REGISTRY_UNAVAILABLE`, in ms. @default 1500 */
  degradedLookupBoundMs?: number;
  /**
   * After Redis is cut off, longest `/readyz` may keep answering 200, in ms (`protocol-conformance`). @default 2000
   */
  readyDetectBoundMs?: number;
  /** After a Redis-wide fault, longest the registry may take to equal the live connections, in ms. @default connection TTL + heartbeat */
  convergenceBoundMs?: number;
  /** The SUT's `MAX_BUFFERED_BYTES` (judged by `slow-consumer`). @default 4194304 */
  maxBufferedBytes?: number;
}

/** Default of {@link CheckThresholds.degradedLookupBoundMs}: the protocol's 1000 ms command bound plus HTTP slack. */
export const DEFAULT_DEGRADED_LOOKUP_BOUND_MS = 1_500;

/**
 * Default of {@link CheckThresholds.readyDetectBoundMs}: in a black hole the first registry command an instance
 * issues after the cut fails only at the protocol's 1000 ms command timeout (the conformance probe issues lookups
 * at once, the fleet routes meanwhile), and readiness follows it; plus 1000 ms for the 100 ms `/readyz` poll, HTTP
 * and a loaded 2-core machine. A closed or reset connection is seen at once.
 */
export const DEFAULT_READY_DETECT_BOUND_MS = 2_000;

/** What a check may read: the recorded history and Redis state read directly. */
export interface CheckContext {
  /**
   * The run's events kept in memory, in recorded order: every one except, on long runs, the fleet message events
   * beyond the first 50,000 (recorder.ts). A check that reads message events reads {@link readEvents} instead.
   */
  events: readonly RunEvent[];
  /**
   * Every event of the run so far in recorded order (with `types`, those of these types), streamed from the event
   * log. @default a stream of {@link events}
   */
  readEvents?: (types?: readonly RunEvent["type"][]) => AsyncIterable<RunEvent>;
  samples: readonly Sample[];
  /** Reads the registry straight from Redis. */
  registry: RegistryReader;
  /** Ids of the instances whose process is up. */
  liveInstances(): string[];
  /** HTTP base URL per instance id. */
  instanceUrls: Readonly<Record<string, string>>;
  /** The SUT's metrics path (`/metrics`), or `null` when it declares none. @default null */
  metricsPath?: string | null;
  /** The SUT's WebSocket path. @default "/ws" */
  wsPath?: string;
  /** `AUTH_SECRET` of the SUT, to mint tokens for HTTP lookups. */
  authSecret: string;
  connectionTtlMs: number;
  heartbeatIntervalMs: number;
  thresholds: CheckThresholds;
  /** Aborts a check that polls. */
  signal?: AbortSignal;
}

/** A check: a function of the history and of Redis state. It returns a result; it throws only on harness failures. */
export type Check = (context: CheckContext) => Promise<CheckResult>;

/** The first `n` items, for evidence. */
export function firstOf<T>(items: Iterable<T>, n = 10): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length >= n) break;
    out.push(item);
  }
  return out;
}

/**
 * Every event of the run in recorded order, or with `types` those of these types (a pass over the event log parses
 * only their lines): {@link CheckContext.readEvents}, or the events in memory.
 */
export async function* allEvents(context: Pick<CheckContext, "events" | "readEvents">, types?: readonly RunEvent["type"][]): AsyncGenerator<RunEvent> {
  if (context.readEvents) yield* context.readEvents(types);
  else for (const event of context.events) if (types === undefined || types.includes(event.type)) yield event;
}
