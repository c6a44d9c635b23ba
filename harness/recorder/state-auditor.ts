/**
 * The continuous audit of Redis against the run's history, one pass per sample (the sampler calls
 * {@link StateAuditor.tick} every second; a pass is skipped while the last reads' cost says so, see
 * {@link AUDIT_DUTY_FACTOR}): every record, reverse key and index member of a connection the history
 * knows must match whether that connection is live, and every key under the prefix must carry a TTL within its
 * bound. Each pass is recorded as a `state_audit` probe event through the recorder (so it lands wherever the
 * recorder's events go); `state-audit` and `key-ttl` judge those events.
 *
 * A pass reads Redis at `t` and is judged one tick later, once the fleet's events up to `t` have arrived (workers
 * flush them every 50 ms). History is taken in incrementally (a cursor into the event list), so a pass costs the
 * same at minute 10 as at second 10.
 */
import { SESSION_TTL_MS, type KeyKind } from "../common/key-schema.js";
import { PROMPT_CLEANUP_BOUND_MS } from "../checks/prompt-cleanup.js";
import type { AuditDivergence, KeyTtlViolation, ProbeEventInput, RunEvent } from "../events/run-events.js";
import { INDEX_FAMILIES, type ConnectionFamily, type RegistryReader, type RegistrySnapshot } from "./registry-reader.js";

/**
 * A pass reads Redis again only once this many times the previous read's duration has passed since that read began,
 * so the audit's share of Redis's time (and of the harness's) stays under a tenth however large the registry: at
 * the tests' and the `ci` profiles' scale a read takes 5 to 50 ms and every one-second sample still reads; at
 * 20,000 connections a read of a few hundred ms on a loaded 2-core machine is taken every few seconds instead of
 * starving the gateways' own writes. Judging is unchanged: each pass is judged against the history up to its `t`.
 */
export const AUDIT_DUTY_FACTOR = 10;
/**
 * The spacing follows the faster of the last two reads, so that one read inflated by a stall of the loaded machine
 * (its wall time, not its cost: seen in a CI run, 829 ms to read 4 keys, which kept the audit from reading again
 * for the rest of the scenario) does not thin the audit; a first read, with none to compare, counts as at most this.
 */
const FIRST_READ_SPACING_MS = 100;
/** Divergences and violations listed per event (the counts are complete). */
const EXAMPLES_PER_EVENT = 10;
/** What a live connection must have in Redis: the seed's five keys (a SUT need not keep instance or tenant indexes). */
const REQUIRED_FAMILIES: readonly ConnectionFamily[] = ["record", "reverse", "session_index", "agent_type_index", "pillar_index"];
/** Where a connection can leave a trace: a ghost in any of these is one. */
const ALL_FAMILIES: readonly ConnectionFamily[] = ["record", "reverse", ...INDEX_FAMILIES];

/** Options of {@link StateAuditor}. */
export interface StateAuditorOptions {
  /** The run's events (live: appended to while the run goes on). */
  events: readonly RunEvent[];
  registry: RegistryReader;
  /** Records one probe event (the recorder's `recordProbe`). */
  record(event: ProbeEventInput): void;
  /** The SUT's connection TTL `T`, ms. */
  connectionTtlMs: number;
  /** The SUT's heartbeat interval `H`, ms. */
  heartbeatIntervalMs: number;
}

interface Tracked {
  /** Sockets of this websocket id open now (two for a moment during a make-before-break move). */
  open: number;
  /** Epoch ms of its latest welcome, close or departure. */
  lastChange: number;
  /** What that change was. */
  why: string;
}

/**
 * The bounds of the audit, ms, and why:
 * - `transition`: after a connect, a close or a departure the gateway knows of, Redis may differ for
 *   {@link PROMPT_CLEANUP_BOUND_MS} (the welcome follows the write, so a connect needs none; a close needs the
 *   unregister: see prompt-cleanup.ts) plus the pass's own read time (the read is not atomic).
 * - `fault`: in a pass whose read overlaps a fault's start to its end plus `T + H`, anything goes: where the gateway
 *   cannot know (an instance killed, Redis unreachable or restarted) a record may stay until its TTL and one
 *   heartbeat (`ttl-expiry`'s bound), and missing records come back within a heartbeat of the heal; `T + H` covers
 *   both.
 */
export function auditBounds(connectionTtlMs: number, heartbeatIntervalMs: number): { transitionMs: number; faultGraceMs: number } {
  return { transitionMs: PROMPT_CLEANUP_BOUND_MS, faultGraceMs: connectionTtlMs + heartbeatIntervalMs };
}

/** The TTL bound of each key kind, ms: the connection TTL, except the session owner and state (session TTL, 24 h). */
export function ttlBoundOf(kind: KeyKind, connectionTtlMs: number): number {
  return kind === "session_owner" || kind === "session_state" ? SESSION_TTL_MS : connectionTtlMs;
}

/** Audits Redis against the history once per {@link tick}; see the module comment. */
export class StateAuditor {
  readonly #options: StateAuditorOptions;
  readonly #bounds: { transitionMs: number; faultGraceMs: number };
  readonly #ids = new Map<string, Tracked>();
  /** Open websocket ids per fleet client, oldest first (to resolve a disconnect that names none). */
  readonly #clientOpen = new Map<string, string[]>();
  /** Fault windows: [start, end + grace); `end` undefined while in effect. */
  readonly #faults = new Map<string, { from: number; to?: number }>();
  #cursor = 0;
  #pending: RegistrySnapshot | undefined;
  /** Start and duration of the latest read, and the duration the next one is spaced by: the faster of the last two (see {@link AUDIT_DUTY_FACTOR}). */
  #lastRead: { t: number; read_ms: number; spacing_ms: number } | undefined;
  #busy: Promise<void> | undefined;

  constructor(options: StateAuditorOptions) {
    this.#options = options;
    this.#bounds = auditBounds(options.connectionTtlMs, options.heartbeatIntervalMs);
  }

  /** Judges the pass read one tick ago (its events are in by now), then reads the next. Never throws. */
  tick(): Promise<void> {
    if (this.#busy) return this.#busy;
    this.#busy = this.#tick().finally(() => (this.#busy = undefined));
    return this.#busy;
  }

  /** Judges the last pass read, if any (before the checks: nothing read stays unjudged). */
  async flush(): Promise<void> {
    await this.#busy;
    const pending = this.#pending;
    this.#pending = undefined;
    this.#ingest();
    if (pending) this.#judge(pending);
  }

  async #tick(): Promise<void> {
    const previous = this.#pending;
    this.#pending = undefined;
    let next: RegistrySnapshot | undefined;
    const last = this.#lastRead;
    if (last === undefined || Date.now() - last.t >= AUDIT_DUTY_FACTOR * last.spacing_ms) {
      try {
        next = await this.#options.registry.snapshot();
        this.#lastRead = { t: next.t, read_ms: next.read_ms, spacing_ms: Math.min(next.read_ms, last?.read_ms ?? FIRST_READ_SPACING_MS) };
      } catch (error) {
        this.#options.record({ type: "state_audit_failed", error: (error as Error).message });
      }
    }
    this.#ingest();
    if (previous) this.#judge(previous);
    this.#pending = next;
  }

  #ingest(): void {
    const events = this.#options.events;
    for (; this.#cursor < events.length; this.#cursor++) {
      const e = events[this.#cursor]!;
      if (e.source === "fleet" && e.type === "welcome") {
        const id = e.websocket_id ?? "";
        const tracked = this.#track(id);
        tracked.open++;
        this.#change(tracked, e.t, "welcome");
        const open = this.#clientOpen.get(e.client) ?? [];
        open.push(id);
        this.#clientOpen.set(e.client, open);
      } else if (e.source === "fleet" && e.type === "disconnect") {
        const open = this.#clientOpen.get(e.client) ?? [];
        const at = e.websocket_id !== undefined ? open.indexOf(e.websocket_id) : 0;
        if (at < 0 || open.length === 0) continue;
        const [id] = open.splice(at, 1);
        const tracked = this.#track(id!);
        tracked.open = Math.max(0, tracked.open - 1);
        this.#change(tracked, e.t, `close ${e.close_code}`);
      } else if (e.source === "probe" && e.type === "departure") {
        const tracked = this.#track(e.websocket_id);
        tracked.open = 0;
        this.#change(tracked, e.t, `departure (${e.kind})`);
      } else if (e.source === "fault" && e.type === "fault_start") {
        this.#faults.set(e.fault_id, { from: e.t });
      } else if (e.source === "fault" && e.type === "fault_end") {
        const window = this.#faults.get(e.fault_id) ?? { from: e.t };
        window.to = e.t + this.#bounds.faultGraceMs;
        this.#faults.set(e.fault_id, window);
      }
    }
  }

  #track(id: string): Tracked {
    let tracked = this.#ids.get(id);
    if (!tracked) this.#ids.set(id, (tracked = { open: 0, lastChange: 0, why: "" }));
    return tracked;
  }

  #change(tracked: Tracked, t: number, why: string): void {
    if (t >= tracked.lastChange) {
      tracked.lastChange = t;
      tracked.why = why;
    }
  }

  /**
   * Whether a fault window overlaps the read [from, to]: a read is not atomic, so one that began just before a
   * fault's start can see its effect (seen in a CI run of `redis-restart`: a 140 ms read that began just before the
   * `fault_start` found ten live connections missing, 2,160 ms after their welcome against a 2,140 ms bound).
   */
  #inFault(from: number, to: number): boolean {
    for (const window of this.#faults.values()) if (window.from <= to && (window.to === undefined || from < window.to)) return true;
    return false;
  }

  #judge(snapshot: RegistrySnapshot): void {
    const s = snapshot.t;
    const present = (id: string): ConnectionFamily[] =>
      ALL_FAMILIES.filter((family) =>
        family === "record" ? snapshot.records.has(id) : family === "reverse" ? snapshot.reverse.has(id) : snapshot.members[family].has(id),
      );
    // A family whose read failed in this pass is not judged in it: a failed read is not an absence.
    const { unread } = snapshot;
    const read = (id: string, family: ConnectionFamily): boolean =>
      family === "record" ? !unread.records.has(id) : family === "reverse" ? !unread.reverse.has(id) : !unread.families.has(family);
    const inFault = this.#inFault(s, s + snapshot.read_ms);
    const bound = this.#bounds.transitionMs + snapshot.read_ms;
    const divergences: AuditDivergence[] = [];
    let transient = 0;
    let live = 0;
    for (const [id, tracked] of this.#ids) {
      const has = present(id);
      const isLive = tracked.open > 0;
      if (isLive) live++;
      const families = (isLive ? REQUIRED_FAMILIES.filter((f) => !has.includes(f)) : has).filter((f) => read(id, f));
      if (families.length === 0) continue;
      const since = s - tracked.lastChange;
      if (inFault || since < bound) {
        transient++;
        continue;
      }
      divergences.push({ websocket_id: id, kind: isLive ? "missing" : "ghost", families, since_ms: since, bound_ms: bound, why: tracked.why });
    }
    let unattributed = 0;
    for (const id of snapshot.records.keys()) if (!this.#ids.has(id)) unattributed++;
    const T = this.#options.connectionTtlMs;
    const ttlViolations: KeyTtlViolation[] = [];
    let withoutTtl = 0;
    let overBound = 0;
    for (const { key, kind, ttl_ms } of snapshot.keys) {
      const limit = ttlBoundOf(kind, T);
      if (ttl_ms === -1) withoutTtl++;
      else if (ttl_ms > limit) overBound++;
      else continue;
      if (ttlViolations.length < EXAMPLES_PER_EVENT) ttlViolations.push({ key, kind, ttl_ms, bound_ms: limit });
    }
    this.#options.record({
      type: "state_audit",
      t: s,
      read_ms: snapshot.read_ms,
      keys: snapshot.keys.length,
      audited: this.#ids.size,
      live,
      divergent: divergences.length,
      transient,
      unattributed,
      unread: unread.keys,
      divergences: divergences.slice(0, EXAMPLES_PER_EVENT),
      keys_without_ttl: withoutTtl,
      keys_over_ttl_bound: overBound,
      ttl_violations: ttlViolations,
    });
  }
}
