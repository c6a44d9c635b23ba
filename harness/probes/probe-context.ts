import type { SeededRandom } from "../common/random.js";
import type { RegistryReader } from "../recorder/registry-reader.js";
import type { ProbeEventInput, RunEvent } from "../events/run-events.js";
import { buildClientHistories, currentSocket, type SocketSpan } from "../checks/client-history.js";
import type { ProbeSocket } from "./probe-io.js";

/** One gateway instance as a probe sees it. */
export interface ProbeInstance {
  id: string;
  /** `http://host:port`. */
  httpUrl: string;
  /** `ws://host:port` (the SUT's WebSocket path is added). */
  wsUrl: string;
}

/**
 * What a probe step (harness/probes/, which only observes) or an action step (harness/actions/, which changes the
 * system: writes state, strands connections, loads it) may use: the recorded history so far, the live instances,
 * the SUT's secret and paths, and a seeded random source. Both talk to the SUT only through the wire protocol, the
 * HTTP API and the runtime, and record what they did or saw as `probe` events; the checks judge those events later.
 */
export interface ProbeContext {
  /** Every event of the run so far (live: fleet events keep arriving). */
  events: readonly RunEvent[];
  /** Records one probe event (source `probe`, `t` now unless given). */
  record(event: ProbeEventInput): void;
  /** Instances whose process is up. */
  liveInstances(): ProbeInstance[];
  /** `AUTH_SECRET` of the SUT. */
  authSecret: string;
  /** WebSocket path of the SUT, e.g. `/ws`. */
  wsPath: string;
  /** `MAX_MESSAGE_BYTES` of the SUT as the run sets it (its env, then the SUT definition's), else the protocol's default. @default 65536 */
  maxMessageBytes?: number;
  /** Run id: probe tenants and sessions are named after it. */
  runId: string;
  /** Seeded by the run's seed and the step's index. */
  random: SeededRandom;
  /** Reads the registry straight from Redis. */
  registry: RegistryReader;
  /** Probe sockets kept open beyond the step (stranded ones): the engine destroys them at teardown. */
  keep(socket: ProbeSocket): void;
  signal?: AbortSignal;
}

/** A live fleet connection (the client's newest open socket), with its tenant. */
export interface LiveConnection extends SocketSpan {
  client: string;
  tenant_id: string;
}

/** The fleet's live connections according to the recorded history, sorted by client id. */
export function liveConnections(events: readonly RunEvent[]): LiveConnection[] {
  const out: LiveConnection[] = [];
  for (const history of buildClientHistories(events).values()) {
    const socket = currentSocket(history);
    if (socket && history.tenant_id !== undefined) out.push({ ...socket, client: history.client, tenant_id: history.tenant_id });
  }
  return out.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}
