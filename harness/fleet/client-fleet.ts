import type { LatencySummary } from "../common/histogram.js";
import type { FleetEvent } from "./fleet-events.js";

/** Options of {@link ClientFleet}. Validated once by the constructor (TypeError with code `HARNESS_ERR_INVALID_OPTIONS`). */
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
  /** Most clients one worker holds (each worker stays far below the 20,000 open-files limit). @default 5000 */
  maxSocketsPerWorker?: number;
  /** `localAddress` values, spread over clients round-robin; ~28k ephemeral ports each. @default ["127.0.0.1"] */
  sourceAddresses?: string[];
  /** New connections per second across the fleet during the ramp; 0 = as fast as the workers go. @default 0 */
  rampPerSecond?: number;
  /** Most connects in flight per worker. @default 256 */
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
  /** Run id put in every worker's environment (`TRAFFIC_COP_RUN_ID`) for the orphan sweep. @default "adhoc" */
  runId?: string;
}

/** Counters of routed messages. */
export interface FleetMessageCounts {
  sent: number;
  acked: number;
  received: number;
  errors: number;
  /** Sum of `delivered` over all acks. */
  delivered: number;
}

/** Live view of the fleet, refreshed from the workers every {@link STATS_INTERVAL_MS}. */
export interface FleetSnapshot {
  /** Epoch ms of the snapshot. */
  t: number;
  /** Clients with a welcomed socket. */
  connected: number;
  /** Connected clients per `instance_id` (from the welcomes). */
  byInstance: Record<string, number>;
  /** Connected clients per target base URL. */
  byTarget: Record<string, number>;
  /** Clients waiting for or attempting a reconnect (they had been connected before). */
  reconnecting: number;
  /** Clients that never got a welcome yet (ramp not reached them, or first attempts failing). */
  pending: number;
  /** Total welcomes, disconnects and connect errors so far. */
  welcomes: number;
  disconnects: number;
  connectErrors: number;
  messages: FleetMessageCounts;
  latency: FleetLatency;
  /** Worker processes alive. */
  workersAlive: number;
}

/** Latency percentiles (ms) from the workers' HDR histograms. */
export interface FleetLatency {
  /** Upgrade start -> welcome. */
  connect: LatencySummary;
  /** Route sent -> ack. */
  ack: LatencySummary;
  /** Route sent -> received by a peer. */
  delivery: LatencySummary;
}

/** A worker that ended other than through `stop()`. */
export interface FleetWorkerExit {
  worker: number;
  pid: number;
  code: number | null;
  signal: string | null;
}

/** What `stop()` returns: final totals, latency percentiles and the encoded HDR histograms. */
export interface FleetSummary extends FleetSnapshot {
  /** Clients the fleet was configured with. */
  clients: number;
  seed: number;
  /** Wall time from start() to stop() in ms. */
  durationMs: number;
  /** Compressed base64 HDR histograms (microseconds) for further merging: connect, ack, delivery. */
  histograms: { connect: string; ack: string; delivery: string };
  /** Workers that crashed or exited on their own during the run (empty on a clean run). */
  workerExits: FleetWorkerExit[];
  /** Process ids of the workers (all exited once `stop()` resolves). */
  workerPids: number[];
}

/** How often workers report their counters to the parent, in ms. */
export const STATS_INTERVAL_MS = 200;

/** An unstarted fleet of simulated WebSocket clients spread over worker processes. */
export declare class ClientFleet {
  constructor(options: ClientFleetOptions);
  /** Forks the workers, waits until each is loaded, then starts the ramp. Resolves once the ramp has begun. */
  start(): Promise<StartedClientFleet>;
}

/** A running fleet. `stop()` is idempotent and safe to call concurrently; `await using` stops it. */
export interface StartedClientFleet extends AsyncDisposable {
  /** Process ids of the workers. */
  readonly workerPids: readonly number[];
  /** The live counters (as of the last worker report, at most {@link STATS_INTERVAL_MS} old). */
  snapshot(): FleetSnapshot;
  /** Resolves once at least `count` clients are connected; rejects with `HARNESS_ERR_FLEET_TIMEOUT` after `timeoutMs`. */
  waitForConnected(count: number, timeoutMs: number): Promise<void>;
  /** Changes the route rate across the fleet (messages per second); 0 pauses messages. */
  setMessageRate(perSecond: number): void;
  /** Replaces the gateway targets used by later (re)connects; open sockets stay where they are. */
  setTargets(targets: string[]): void;
  /** Closes every socket with 1000, ends the workers (SIGKILL after a grace), returns totals. */
  stop(): Promise<FleetSummary>;
}
