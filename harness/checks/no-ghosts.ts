import { retryUntil } from "../common/retry.js";
import type { RegistryState } from "../recorder/registry-reader.js";
import { eventsOf } from "../events/run-events.js";
import type { CheckResult } from "../report/run-result.js";
import { firstOf, type Check, type CheckContext } from "./check.js";
import { buildClientHistories, currentSocket } from "./client-history.js";

const POLL_INTERVAL_MS = 250;

/** Registry state against the fleet's live connections. */
export interface RegistryComparison {
  live: number;
  records: number;
  ghosts: Record<string, string[]>;
  missing: Record<string, string[]>;
  misplaced: string[];
  duplicates: string[];
  stale_members: number;
}

/**
 * Compares the registry with the fleet's live connections (from the history): ghosts (in Redis, not live),
 * missing (live, not in Redis), misplaced (wrong session or instance) and duplicates. Ids in `ignore` (stranded
 * probe sockets, whose expiry `ttl-expiry` judges) count on neither side.
 */
export function compareRegistry(events: CheckContext["events"], state: RegistryState, ignore: ReadonlySet<string> = new Set()): RegistryComparison {
  const histories = buildClientHistories(events);
  const live = new Map<string, { session: string; instance: string }>();
  for (const history of histories.values()) {
    const socket = currentSocket(history);
    if (socket) live.set(socket.websocket_id, { session: socket.session_id, instance: socket.instance_id });
  }
  const ghosts: Record<string, string[]> = {};
  const missing: Record<string, string[]> = {};
  const misplaced: string[] = [];
  let stale = 0;
  const diff = (family: string, present: Set<string>) => {
    const extra = [...present].filter((id) => !live.has(id) && !ignore.has(id));
    const absent = [...live.keys()].filter((id) => !present.has(id));
    if (extra.length > 0) ghosts[family] = extra;
    if (absent.length > 0) missing[family] = absent;
  };
  const seen = new Map<string, number>();
  for (const record of state.records) {
    seen.set(record.websocket_id, (seen.get(record.websocket_id) ?? 0) + 1);
    const owner = live.get(record.websocket_id);
    if (owner && (owner.session !== record.session_id || owner.instance !== record.fields.instance_id)) {
      misplaced.push(`${record.websocket_id}: record ${record.session_id}@${record.fields.instance_id}, client ${owner.session}@${owner.instance}`);
    }
  }
  diff("records", new Set(seen.keys()));
  const liveMembers = (indexes: Record<string, { member: string; expires_at: number }[]>) => {
    const out = new Set<string>();
    for (const members of Object.values(indexes)) {
      for (const m of members) {
        // Members past their score are dead by definition and pruned lazily by writers: not ghosts.
        if (m.expires_at > state.t) out.add(m.member);
        else stale++;
      }
    }
    return out;
  };
  diff("session_index", liveMembers(state.sessionIndexes));
  diff("agent_type_index", liveMembers(state.agentTypeIndexes));
  diff("pillar_index", liveMembers(state.pillarIndexes));
  diff("reverse_index", new Set(Object.keys(state.reverse)));
  return {
    live: live.size,
    records: state.records.length,
    ghosts,
    missing,
    misplaced,
    duplicates: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
    stale_members: stale,
  };
}

/** Whether a comparison shows the registry equal to the live connections. */
export function isClean(c: RegistryComparison): boolean {
  return Object.keys(c.ghosts).length === 0 && Object.keys(c.missing).length === 0 && c.misplaced.length === 0 && c.duplicates.length === 0;
}

/** Websocket ids of probe sockets stranded on purpose (recorded `stranded` events). */
export function strandedIds(events: CheckContext["events"]): Set<string> {
  return new Set(eventsOf(events, "probe", "stranded").map((e) => e.websocket_id));
}

/**
 * `no-ghosts`: once settled, registry records and index members (live by score) equal the live connections of
 * the fleet, one to one, each on the instance and in the session the client sees. Polls Redis for up to
 * `settleBoundMs` for the state to converge and reports the last comparison.
 */
export const noGhosts: Check = async (context) => {
  const t0 = Date.now();
  let last: RegistryComparison | undefined;
  let lastError: unknown;
  try {
    await retryUntil(
      async () => (last = compareRegistry(context.events, await context.registry.read(), strandedIds(context.events))),
      isClean,
      (l) => {
        lastError = l.error;
        return new Error("not settled");
      },
      { timeoutMs: context.thresholds.settleBoundMs, intervalMs: POLL_INTERVAL_MS, ...(context.signal ? { signal: context.signal } : {}) },
    );
  } catch (error) {
    if ((error as { code?: string }).code === "HARNESS_ERR_ABORTED") throw error;
  }
  const result: CheckResult = {
    name: "no-ghosts",
    pass: last !== undefined && isClean(last) && last.live > 0,
    expected: { records_and_index_members_equal_live_connections: last?.live ?? "unknown", within_ms: context.thresholds.settleBoundMs },
    actual: last
      ? {
          live_connections: last.live,
          records: last.records,
          ghosts: Object.fromEntries(Object.entries(last.ghosts).map(([k, v]) => [k, v.length])),
          missing: Object.fromEntries(Object.entries(last.missing).map(([k, v]) => [k, v.length])),
          misplaced: last.misplaced.length,
          duplicates: last.duplicates.length,
        }
      : { error: String(lastError) },
    evidence: last
      ? {
          ghosts: Object.fromEntries(Object.entries(last.ghosts).map(([k, v]) => [k, firstOf(v)])),
          missing: Object.fromEntries(Object.entries(last.missing).map(([k, v]) => [k, firstOf(v)])),
          misplaced: firstOf(last.misplaced),
          duplicates: firstOf(last.duplicates),
          stale_index_members_past_score: last.stale_members,
          ...(last.live === 0 ? { reason: "no live connection to compare with" } : {}),
        }
      : { error: String(lastError) },
    duration_ms: Date.now() - t0,
  };
  return result;
};
