import { setTimeout as delay } from "node:timers/promises";
import { retryUntil } from "../common/retry.js";
import { compareRegistry, isClean, strandedIds, type RegistryComparison } from "../checks/no-ghosts.js";
import { eventsOf, isEventOf, type RunEvent, type RunEventOf } from "../events/run-events.js";
import { conformanceTenant } from "./conformance-io.js";
import { errorCode, httpProbe, tenantToken } from "./probe-io.js";
import { metricsText, sumOfMetric } from "../recorder/metrics-scraper.js";
import { liveConnections, type ProbeContext, type ProbeInstance } from "./probe-context.js";

const POLL_INTERVAL_MS = 100;

/** Options of {@link probeDegradedMode}. */
export interface ProbeDegradedModeOptions {
  /** How long to wait for a Redis partition to be in effect, in ms. @default 10000 */
  waitForPartitionMs?: number;
  /** Lookup rounds during the partition, spread over it. @default 2 */
  rounds?: number;
  /** How long to look for the registry to equal the live connections after healing, in ms. @default 15000 */
  reconcileTimeoutMs?: number;
  /**
   * How long after the heal no instance may have reaped another, counted from the probe's start (the sum of every
   * instance's `traffic_cop_reaped_records_total`), in ms; 0: not judged. @default 0
   */
  noReapForMs?: number;
  /** The SUT's metrics path (`null`: it has none, and reaping is not judged). @default null */
  metricsPath?: string | null;
}

const REAPED_RECORDS = "traffic_cop_reaped_records_total";
const METRICS_TIMEOUT_MS = 2_000;

/** Every instance's reaped records summed, or `null` when one of them does not say. */
async function reapedRecords(instances: readonly ProbeInstance[], metricsPath: string): Promise<number | null> {
  const sums = await Promise.all(
    instances.map(async (instance) => {
      const text = await metricsText(`${instance.httpUrl}${metricsPath}`, METRICS_TIMEOUT_MS);
      return text === undefined ? undefined : sumOfMetric(text, REAPED_RECORDS);
    }),
  );
  return sums.every((sum) => sum !== undefined) ? sums.reduce((a, b) => a + b, 0) : null;
}

/**
 * The partition in effect, if any: applied (the proxy calls are done) and not yet ended (healing starts right
 * before `fault_end`). Shared with the conformance probe.
 */
export function openPartition(events: readonly RunEvent[]): RunEventOf<"fault", "fault_applied"> | undefined {
  const ended = new Set(eventsOf(events, "fault", "fault_end").map((e) => e.fault_id));
  return eventsOf(events, "fault", "fault_applied").find((e) => e.kind === "partition" && !ended.has(e.fault_id));
}

/**
 * Runs while a Redis partition (a background `Fault.partition`) is in effect: looks up a live connection by id
 * and by session on every partitioned instance and records each answer as `degraded_lookup` (`status`, `code`,
 * `latency_ms`). Once the partition heals, polls Redis directly until the registry equals the fleet's live
 * connections and every partitioned instance answers lookups again (200), and records `degraded_reconcile`
 * (`reconciled_after_ms`, `null` when not within the timeout). With `noReapForMs` it then waits until that long
 * after the heal and adds the records the instances reaped since the probe's start (`reaped_records`).
 */
export async function probeDegradedMode(context: ProbeContext, options: ProbeDegradedModeOptions = {}): Promise<void> {
  const signal = context.signal ? { signal: context.signal } : {};
  const partition = await retryUntil(
    async () => openPartition(context.events),
    (found) => found !== undefined,
    () => new Error("no partition"),
    { timeoutMs: options.waitForPartitionMs ?? 10_000, intervalMs: 20, ...signal },
  ).catch((error: unknown) => {
    if ((error as { code?: string }).code === "HARNESS_ERR_ABORTED") throw error;
    return undefined;
  });
  if (!partition) {
    context.record({ type: "degraded_probe_skipped", reason: "no Redis partition was in effect: put Step.fault(Fault.partition(...), { background: true }) before this step" });
    return;
  }
  const faultId = partition.fault_id;
  const targets = new Set(partition.targets);
  const noReapForMs = options.metricsPath ? (options.noReapForMs ?? 0) : 0;
  const reapedBefore = noReapForMs > 0 ? await reapedRecords(context.liveInstances(), options.metricsPath!) : null;
  const rounds = Math.max(1, options.rounds ?? 2);
  // Fault events do not carry the fault's configured duration: rounds are spaced as for a one-second partition.
  const durationMs = 1_000;
  for (let round = 0; round < rounds; round++) {
    if (!openPartition(context.events)) break;
    const victim = liveConnections(context.events)[0];
    const instances = context.liveInstances().filter((i) => targets.has(i.id));
    await Promise.all(
      instances.map(async (instance) => {
        if (!victim) return;
        const token = tenantToken(context.authSecret, victim.tenant_id);
        for (const [kind, path] of [
          ["connection", `/v1/connections/${encodeURIComponent(victim.websocket_id)}`],
          ["session", `/v1/sessions/${encodeURIComponent(victim.session_id)}/connections`],
        ] as const) {
          const answer = await httpProbe(`${instance.httpUrl}${path}`, { token });
          // Only answers given while the partition was still in effect say anything about degraded mode.
          const during = openPartition(context.events)?.fault_id === faultId;
          context.record({ type: "degraded_lookup", fault_id: faultId, via: instance.id, kind, round, status: answer.status, code: errorCode(answer.body) ?? null, latency_ms: answer.latency_ms, during, ...(answer.error ? { error: answer.error } : {}) });
        }
      }),
    );
    if (round < rounds - 1) await delay(Math.min(500, durationMs / (rounds + 1)), undefined, signal);
  }
  const healed = await retryUntil(
    async () => context.events.find((e) => isEventOf(e, "fault", "fault_end") && e.fault_id === faultId),
    (found) => found !== undefined,
    () => new Error("partition did not heal"),
    { timeoutMs: 120_000, intervalMs: 20, ...signal },
  );
  let last: RegistryComparison | undefined;
  let serving: Record<string, number> = {};
  let reconciledAt: number | undefined;
  const ownTenant = conformanceTenant(context.runId);
  // Reconciled: every partitioned instance serves lookups again, and the registry equals the live connections.
  await retryUntil(
    async () => {
      const victim = liveConnections(context.events)[0];
      const instances = context.liveInstances().filter((i) => targets.has(i.id));
      serving = {};
      if (victim) {
        const token = tenantToken(context.authSecret, victim.tenant_id);
        await Promise.all(instances.map(async (i) => (serving[i.id] = (await httpProbe(`${i.httpUrl}/v1/connections/${encodeURIComponent(victim.websocket_id)}`, { token })).status)));
      }
      const state = await context.registry.read();
      // The conformance probe's own sockets (live, rightly registered) are not fleet connections: not ghosts.
      const own = state.records.filter((r) => r.fields.tenant_id === ownTenant).map((r) => r.websocket_id);
      last = compareRegistry(context.events, state, new Set([...strandedIds(context.events), ...own]));
      return last;
    },
    (comparison) => comparison.live > 0 && isClean(comparison) && Object.values(serving).every((status) => status === 200),
    () => new Error("not reconciled"),
    { timeoutMs: options.reconcileTimeoutMs ?? 15_000, intervalMs: POLL_INTERVAL_MS, ...signal },
  )
    .then(() => (reconciledAt = Date.now()))
    .catch((error: unknown) => {
      if ((error as { code?: string }).code === "HARNESS_ERR_ABORTED") throw error;
    });
  let reaped: number | null | undefined;
  if (reapedBefore !== null) {
    await delay(Math.max(0, healed!.t + noReapForMs - Date.now()), undefined, signal);
    const after = await reapedRecords(context.liveInstances(), options.metricsPath!);
    reaped = after === null ? null : after - reapedBefore;
  }
  context.record({
    type: "degraded_reconcile",
    fault_id: faultId,
    healed_at: healed!.t,
    reconciled_after_ms: reconciledAt === undefined ? null : reconciledAt - healed!.t,
    lookup_status_by_instance: serving,
    ...(reaped !== undefined ? { reaped_records: reaped, no_reap_for_ms: noReapForMs } : {}),
    last: last ? { live: last.live, records: last.records, ghosts: Object.fromEntries(Object.entries(last.ghosts).map(([k, v]) => [k, v.length])), missing: Object.fromEntries(Object.entries(last.missing).map(([k, v]) => [k, v.length])), misplaced: last.misplaced.length } : null,
  });
}
