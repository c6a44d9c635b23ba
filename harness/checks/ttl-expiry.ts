import { setTimeout as delay } from "node:timers/promises";
import { retryUntil } from "../common/retry.js";
import type { RegistryState } from "../recorder/registry-reader.js";
import { eventsOf } from "../events/run-events.js";
import { firstOf, type Check, type CheckContext } from "./check.js";
import { buildClientHistories, currentSocket } from "./client-history.js";

const POLL_INTERVAL_MS = 100;

interface Vanished {
  /** When a registry read during the run first no longer held the record (kills only: the strand step's watch). */
  gone_at?: number;
  websocket_id: string;
  session_id: string;
  instance_id: string;
  /** Epoch ms when the connection vanished. */
  t: number;
  /** Epoch ms by which its record must be gone. */
  deadline: number;
  why: string;
}

/**
 * How long after a SIGKILL survivors may take to reap the dead instance's records (docs/protocol.md, "kill -9"):
 * `L + S` until its liveness key has expired and the next scan runs, one more `S` for the claim and the removals
 * of that scan under load, and `H` of slack for a loaded machine. Always less than the TTL fallback (a record
 * refreshed within `H` before the kill lives on for at least `T - H`), so a gateway that never reaps fails it.
 * `L = max(1000, T/3)`, `S = max(100, L/3)` as the protocol defines them.
 */
export function reapBoundMs(connectionTtlMs: number, heartbeatIntervalMs: number): number {
  const { ttlMs: L, intervalMs: S } = livenessMs(connectionTtlMs);
  return L + 2 * S + heartbeatIntervalMs;
}

/**
 * The liveness TTL `L = max(1000, T/3)` and the liveness refresh and dead-instance scan period `S = max(100, L/3)`
 * of a gateway with connection TTL `T`, as docs/protocol.md defines them.
 */
export function livenessMs(connectionTtlMs: number): { ttlMs: number; intervalMs: number } {
  const ttlMs = Math.max(1_000, Math.floor(connectionTtlMs / 3));
  return { ttlMs, intervalMs: Math.max(100, Math.floor(ttlMs / 3)) };
}

/**
 * The connections that vanished without unregistering, from the history: stranded probe connections (cut
 * half-open, or on an instance SIGKILLed for good) and fleet sockets that closed and whose websocket_id never
 * came back (no resume). Bound per connection: for a kill, the reaping bound ({@link reapBoundMs}, never more than
 * `T + H`); `T + H` after the gateway can know it is gone otherwise, which is within `2H` for a half-open socket
 * (one missed pong). Fleet closes take the half-open bound too, since the history cannot tell a kill from a cut.
 */
export function vanishedConnections(context: Pick<CheckContext, "events" | "connectionTtlMs" | "heartbeatIntervalMs">): Vanished[] {
  const T = context.connectionTtlMs;
  const H = context.heartbeatIntervalMs;
  const out: Vanished[] = [];
  const goneAt = new Map(eventsOf(context.events, "probe", "stranded_gone").map((e) => [`${e.session_id}/${e.websocket_id}`, e.t]));
  for (const e of eventsOf(context.events, "probe", "stranded")) {
    const bound = e.how === "kill" ? Math.min(reapBoundMs(T, H), T + H) : 2 * H + T + H;
    const gone = goneAt.get(`${e.session_id}/${e.websocket_id}`);
    out.push({ websocket_id: e.websocket_id, session_id: e.session_id, instance_id: e.instance_id, t: e.t, deadline: e.t + bound, why: `stranded (${e.how})`, ...(gone !== undefined ? { gone_at: gone } : {}) });
  }
  const welcomedAfter = new Map<string, number>();
  for (const e of eventsOf(context.events, "fleet", "welcome")) {
    // As SocketSpan does: a welcome that names no websocket_id counts under the empty id.
    const id = e.websocket_id ?? "";
    welcomedAfter.set(id, Math.max(welcomedAfter.get(id) ?? 0, e.t));
  }
  for (const history of buildClientHistories(context.events).values()) {
    for (const socket of history.sockets) {
      if (socket.closed === undefined || (welcomedAfter.get(socket.websocket_id) ?? 0) > socket.opened) continue;
      out.push({ websocket_id: socket.websocket_id, session_id: socket.session_id, instance_id: socket.instance_id, t: socket.closed, deadline: socket.closed + 2 * H + T + H, why: `fleet socket closed (${socket.close_code ?? "?"}) and never resumed` });
    }
  }
  return out;
}

function lingering(vanished: Vanished[], state: RegistryState, now: number): (Vanished & { ttl_ms: number; late_by_ms: number })[] {
  const records = new Map(state.records.map((r) => [`${r.session_id}/${r.websocket_id}`, r]));
  return vanished.flatMap((v) => {
    // Seen during the run to outlive its bound (e.g. removed by its TTL instead of a reaper): late, even if gone now.
    if (v.gone_at !== undefined && v.gone_at > v.deadline) return [{ ...v, ttl_ms: -2, late_by_ms: v.gone_at - v.deadline }];
    const record = records.get(`${v.session_id}/${v.websocket_id}`);
    return record && now > v.deadline ? [{ ...v, ttl_ms: record.ttl_ms, late_by_ms: now - v.deadline }] : [];
  });
}

/**
 * `ttl-expiry`: records of connections that vanished without unregistering are gone within their bound (see
 * {@link vanishedConnections}), and records of live connections never expire: every live fleet connection has
 * its record in Redis, with a TTL, at the end of the run (and in the per-second samples, the registry never
 * holds fewer records than the fleet has connections for longer than a heartbeat past the TTL).
 */
export const ttlExpiry: Check = async (context) => {
  const t0 = Date.now();
  const T = context.connectionTtlMs;
  const H = context.heartbeatIntervalMs;
  const signal = context.signal ? { signal: context.signal } : {};
  const vanished = vanishedConnections(context);
  // Live part: a live record may be briefly absent only while being rewritten; poll for two heartbeats.
  const liveMissing = (state: RegistryState) => {
    const present = new Map(state.records.map((r) => [r.websocket_id, r]));
    const missing: { websocket_id: string; instance_id: string; open_for_ms: number; ttl_ms?: number }[] = [];
    for (const history of buildClientHistories(context.events).values()) {
      const socket = currentSocket(history);
      if (!socket) continue;
      const record = present.get(socket.websocket_id);
      if (!record || record.ttl_ms <= 0) missing.push({ websocket_id: socket.websocket_id, instance_id: socket.instance_id, open_for_ms: state.t - socket.opened, ...(record ? { ttl_ms: record.ttl_ms } : {}) });
    }
    return missing;
  };
  let live = 0;
  let missing: ReturnType<typeof liveMissing> = [];
  let error: string | undefined;
  await retryUntil(
    async () => {
      const state = await context.registry.read();
      live = [...buildClientHistories(context.events).values()].filter((h) => currentSocket(h)).length;
      return (missing = liveMissing(state));
    },
    (m) => m.length === 0,
    () => new Error("live records missing"),
    { timeoutMs: 2 * H, intervalMs: POLL_INTERVAL_MS, ...signal },
  ).catch((caught: unknown) => {
    if ((caught as { code?: string }).code === "HARNESS_ERR_ABORTED") throw caught;
    if (missing.length === 0) error = String(caught);
  });
  // Vanished part: wait until each record is gone or its deadline has passed, whichever is first.
  let late: ReturnType<typeof lingering> = [];
  if (vanished.length > 0) {
    const lastDeadline = Math.max(...vanished.map((v) => v.deadline));
    for (;;) {
      const state = await context.registry.read();
      const gone = new Set(vanished.filter((v) => !state.records.some((r) => r.websocket_id === v.websocket_id && r.session_id === v.session_id)).map((v) => v.websocket_id));
      late = lingering(vanished, state, state.t);
      if (gone.size === vanished.length || late.length > 0 || state.t > lastDeadline) break;
      await delay(POLL_INTERVAL_MS, undefined, signal);
    }
  }
  const underCounted = context.samples.filter((s) => s.fleet && "records" in s.registry && s.registry.records < s.fleet.connected).length;
  const pass = live > 0 && missing.length === 0 && late.length === 0 && error === undefined;
  return {
    name: "ttl-expiry",
    pass,
    expected: { live_records_present_with_ttl: true, vanished_records_gone_within_ms: `T + H (+ 2H to detect a half-open socket) = ${T} + ${H} (+ ${2 * H}); killed instance: reaped within L + 2S + H = ${Math.min(reapBoundMs(T, H), T + H)}` },
    actual: { live_connections: live, live_records_missing: missing.length, vanished: vanished.length, vanished_records_past_bound: late.length },
    evidence: {
      live_records_missing: firstOf(missing),
      vanished_records_past_bound: firstOf(late),
      vanished: firstOf(vanished.map((v) => ({ websocket_id: v.websocket_id, why: v.why, bound_ms: v.deadline - v.t }))),
      samples_with_fewer_records_than_connections: underCounted,
      ...(error ? { error } : {}),
      ...(live === 0 ? { reason: "no live connection to check" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
};
