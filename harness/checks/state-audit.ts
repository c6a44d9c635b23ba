import { eventsOf } from "../events/run-events.js";
import type { AuditDivergence, KeyTtlViolation } from "../events/probe-events.js";
import { auditBounds, ttlBoundOf } from "../recorder/state-auditor.js";
import { firstOf, type Check } from "./check.js";

/**
 * `state-audit`: on every sample of the run (not only at settle), every record, reverse key and index member of a
 * connection the history knows (fleet clients, departed clients) matches whether that connection is live: a live
 * one has its record, reverse key, session, agent type and pillar index members; a gone one has none of its traces.
 * A divergence is allowed only for a bound after the connection's last change (connect, close, departure:
 * `PROMPT_CLEANUP_BOUND_MS` plus the pass's read time) and inside fault windows (from a fault's start to its end
 * plus `T + H`, the TTL fallback where the gateway cannot know). Judged from the `state_audit` events the
 * recorder's {@link StateAuditor} writes once per sample.
 */
export const stateAudit: Check = async (context) => {
  const t0 = Date.now();
  const passes = eventsOf(context.events, "probe", "state_audit");
  const failedReads = eventsOf(context.events, "probe", "state_audit_failed");
  const divergent = passes.filter((p) => p.divergent > 0);
  const examples: (AuditDivergence & { at: number })[] = [];
  for (const pass of divergent) for (const d of pass.divergences) if (examples.length < 10) examples.push({ ...d, at: pass.t });
  const ghosts = new Set<string>();
  const missing = new Set<string>();
  for (const pass of divergent) for (const d of pass.divergences) (d.kind === "ghost" ? ghosts : missing).add(d.websocket_id);
  const { transitionMs, faultGraceMs } = auditBounds(context.connectionTtlMs, context.heartbeatIntervalMs);
  const audited = Math.max(0, ...passes.map((p) => p.audited));
  // A pass leaves unjudged what it could not read; a run none of whose passes read everything judged too little.
  const wholePasses = passes.filter((p) => p.unread === 0).length;
  return {
    name: "state-audit",
    pass: wholePasses > 0 && audited > 0 && divergent.length === 0,
    expected: {
      divergence_outside_bounds: 0,
      bound_after_change_ms: `${transitionMs} + read time`,
      fault_window_grace_ms: `T + H = ${faultGraceMs}`,
    },
    actual: {
      passes: passes.length,
      passes_with_divergence: divergent.length,
      connections_audited: audited,
      ghost_connections: ghosts.size,
      missing_connections: missing.size,
      transient_max: Math.max(0, ...passes.map((p) => p.transient)),
      failed_reads: failedReads.length,
      passes_with_unread_keys: passes.filter((p) => p.unread > 0).length,
      unread_keys_max: Math.max(0, ...passes.map((p) => p.unread)),
    },
    evidence: {
      divergences: examples,
      read_ms_max: Math.max(0, ...passes.map((p) => p.read_ms)),
      keys_max: Math.max(0, ...passes.map((p) => p.keys)),
      unattributed_max: Math.max(0, ...passes.map((p) => p.unattributed)),
      ...(failedReads.length > 0 ? { failed_reads: firstOf(failedReads.map((f) => f.error), 3) } : {}),
      ...(passes.length === 0 ? { reason: "no audit pass was recorded" } : wholePasses === 0 ? { reason: "no audit pass read every key" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};

/**
 * `key-ttl`: on every sample, every key under the prefix carries a TTL (no key without one), no longer than its
 * bound: the connection TTL for every connection key (record, reverse key, session and global indexes, name
 * registries) and the gateway's liveness keys, the session TTL (24 h, docs/registry.md) for a session's owner and
 * state, which outlive their connections on purpose. So no key outlives every client by more than one TTL.
 */
export const keyTtl: Check = async (context) => {
  const t0 = Date.now();
  const passes = eventsOf(context.events, "probe", "state_audit");
  const bad = passes.filter((p) => p.keys_without_ttl > 0 || p.keys_over_ttl_bound > 0);
  const examples: (KeyTtlViolation & { at: number })[] = [];
  const kinds: Record<string, number> = {};
  for (const pass of bad) {
    for (const v of pass.ttl_violations) {
      kinds[v.kind] = (kinds[v.kind] ?? 0) + 1;
      if (examples.length < 10) examples.push({ ...v, at: pass.t });
    }
  }
  return {
    name: "key-ttl",
    pass: passes.length > 0 && Math.max(0, ...passes.map((p) => p.keys)) > 0 && bad.length === 0,
    expected: {
      keys_without_ttl: 0,
      ttl_bound_ms: { connection_keys: ttlBoundOf("connection", context.connectionTtlMs), session_owner_and_state: ttlBoundOf("session_state", context.connectionTtlMs) },
    },
    actual: {
      passes: passes.length,
      passes_with_violation: bad.length,
      keys_without_ttl_max: Math.max(0, ...passes.map((p) => p.keys_without_ttl)),
      keys_over_bound_max: Math.max(0, ...passes.map((p) => p.keys_over_ttl_bound)),
    },
    evidence: { violations: examples, violating_kinds: kinds, keys_max: Math.max(0, ...passes.map((p) => p.keys)) },
    duration_ms: Date.now() - t0,
  };
};
