/**
 * An action: clients that leave for good, in each way a real client leaves (`close`, `terminate`, `kill`), and
 * what Redis keeps of them afterwards. The departing clients are a small fleet of their own (the fleet's real client
 * code, in its own worker process, with its own tenant and sessions), so no fleet route expects them and the main
 * fleet's history is untouched.
 */
import { setTimeout as delay } from "node:timers/promises";
import { ClientFleet } from "../fleet/client-fleet.js";
import type { DepartureKind, FleetWelcomeEvent } from "../events/run-events.js";
import type { ProbeContext } from "../probes/probe-context.js";
import type { ConnectionIds } from "../recorder/registry-reader.js";

/** How often Redis is polled after a departure, ms: the resolution of `gone_after_ms`. */
export const DEPARTURE_POLL_INTERVAL_MS = 50;
/** How long the departing clients may take to connect, ms. */
const DEPARTURE_CONNECT_TIMEOUT_MS = 30_000;

/** Options of {@link departClients}. */
export interface DepartClientsOptions {
  kind: DepartureKind;
  /** Clients that connect and then leave. */
  count: number;
  /** How long Redis is polled after the departure at most, ms (stops earlier once nothing is left). */
  observeMs: number;
  /** `ws://host:port/ws` of every instance (as the fleet takes them). */
  targets: string[];
  /** Seed of the departing fleet (its identities). */
  seed: number;
  /** Its id prefix (sessions `<prefix>-s<n>`, tenant `<prefix>-t0`), unique in the run. */
  idPrefix: string;
}

/**
 * Connects `count` clients spread over every instance, waits for their welcomes, makes them all leave the way
 * `kind` says (one `departure` event each, `t` = just before the first socket or process goes), then polls their
 * keys (record, reverse key, every index member) every {@link DEPARTURE_POLL_INTERVAL_MS} until nothing is left or
 * `observeMs` has passed, and records one `departure_cleanup` per client. A failure to connect records
 * `departure_failed` and departs nobody.
 */
export async function departClients(context: ProbeContext, options: DepartClientsOptions): Promise<void> {
  const welcomes = new Map<string, FleetWelcomeEvent>();
  const fleet = await new ClientFleet({
    targets: options.targets,
    clients: options.count,
    authSecret: context.authSecret,
    seed: options.seed,
    workers: 1,
    tenants: 1,
    clientsPerSession: 2,
    idPrefix: options.idPrefix,
    messageRatePerSecond: 0,
    runId: context.runId,
    onEvent: (event) => {
      if (event.type === "welcome") welcomes.set(event.client, event);
    },
  }).start();
  try {
    await fleet.waitForConnected(options.count, DEPARTURE_CONNECT_TIMEOUT_MS);
    // Welcomes reach onEvent in batches (every 50 ms): wait until each client's is in.
    const deadline = Date.now() + 5_000;
    while (welcomes.size < options.count && Date.now() < deadline) await delay(DEPARTURE_POLL_INTERVAL_MS);
  } catch (error) {
    await fleet.stop();
    context.record({ type: "departure_failed", kind: options.kind, count: options.count, reason: (error as Error).message });
    return;
  }
  const departing = [...welcomes.values()].filter((w) => w.websocket_id !== undefined && w.instance_id !== undefined && w.agent_type !== undefined && w.pillar !== undefined);
  const t = Date.now();
  for (const w of departing) {
    context.record({
      type: "departure",
      t,
      kind: options.kind,
      client: w.client,
      websocket_id: w.websocket_id!,
      session_id: w.session_id,
      tenant_id: w.tenant_id,
      instance_id: w.instance_id!,
      agent_type: w.agent_type!,
      pillar: w.pillar!,
      opened_at: w.t,
    });
  }
  const left = fleet.leave(options.kind);
  const ids: ConnectionIds[] = departing.map((w) => ({
    websocket_id: w.websocket_id!,
    session_id: w.session_id,
    agent_type: w.agent_type!,
    pillar: w.pillar!,
    instance_id: w.instance_id!,
    tenant_id: w.tenant_id,
  }));
  const goneAt = new Map<string, number>();
  let lingering: string[][] = ids.map(() => []);
  for (;;) {
    lingering = await context.registry.presence(ids);
    // Stamped after the answer: gone_after_ms errs long by at most one round trip, never short.
    const now = Date.now();
    lingering.forEach((families, i) => {
      if (families.length === 0 && !goneAt.has(ids[i]!.websocket_id)) goneAt.set(ids[i]!.websocket_id, now);
    });
    if (goneAt.size === ids.length || Date.now() - t >= options.observeMs) break;
    await delay(DEPARTURE_POLL_INTERVAL_MS, undefined, context.signal ? { signal: context.signal } : {});
  }
  const observed = Date.now() - t;
  await left;
  ids.forEach((c, i) => {
    const gone = goneAt.get(c.websocket_id);
    context.record({
      type: "departure_cleanup",
      kind: options.kind,
      websocket_id: c.websocket_id,
      session_id: c.session_id,
      instance_id: c.instance_id,
      departed_at: t,
      gone_after_ms: gone === undefined ? null : gone - t,
      lingering: gone === undefined ? lingering[i]! : [],
      observed_ms: observed,
    });
  });
}
