/**
 * A run-time check that a parsed value is a member of the {@link RunEvent} union: the right fields, of the right
 * kinds, for its `source` and `type`, and no field the union does not declare. The schema below is typed against
 * the union (every variant needs an entry, every field of a variant a guard of a matching type), so the union and
 * this check cannot drift apart at compile time; a test runs real runs' events through it so that they cannot
 * drift from what the producers write.
 *
 * Nested evidence (HTTP bodies, answer frames, fault details) is checked only as far as the checks read it.
 * Like `run-events.ts`, this module uses no Node APIs.
 */
import type { FleetEventType } from "../fleet/fleet-events.js";
import type { RedisFailoverEvent, RunEvent, RunEventOf, RunEventSource, RunEventTypes, TopologyStartedDetail } from "./run-events.js";
import { CONFORMANCE_PROMISES, type AuditDivergence, type KeyTtlViolation, type LookupAnswer, type LookupProbeAnswer, type RegistryCounts } from "./probe-events.js";

/** A type guard. */
type Guard<T> = (value: unknown) => value is T;

/** A field that may be absent (or `undefined` in memory). */
interface Optional<T> {
  readonly optional: Guard<T>;
}

/** Keys a variant's shape does not list: the tags, checked by {@link runEventProblem} itself. */
type TagKey = "t" | "source" | "type";

/** A guard for every field of `E` but the tags; optional fields take an {@link Optional} guard. */
type Shape<E> = { readonly [K in Exclude<keyof E, TagKey>]-?: {} extends Pick<E, K> ? Optional<Exclude<E[K], undefined>> : Guard<E[K]> };

const str = (value: unknown): value is string => typeof value === "string";
const num = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const bool = (value: unknown): value is boolean => typeof value === "boolean";
const any = (_value: unknown): _value is unknown => true;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function lit<const L extends string | number | boolean>(...values: L[]): Guard<L> {
  return (value): value is L => values.includes(value as L);
}
function opt<T>(guard: Guard<T>): Optional<T> {
  return { optional: guard };
}
function nullable<T>(guard: Guard<T>): Guard<T | null> {
  return (value): value is T | null => value === null || guard(value);
}
function arrayOf<T>(guard: Guard<T>): Guard<T[]> {
  return (value): value is T[] => Array.isArray(value) && value.every(guard);
}
function recordOf<T>(guard: Guard<T>): Guard<Record<string, T>> {
  return (value): value is Record<string, T> => isObject(value) && Object.values(value).every(guard);
}
const departureKind = lit("close", "terminate", "kill");
function oneOf<A, B>(a: Guard<A>, b: Guard<B>): Guard<A | B> {
  return (value): value is A | B => a(value) || b(value);
}

/** The first field of `value` that breaks `shape` (a missing, mistyped or undeclared one), or undefined. */
function shapeProblem(value: Record<string, unknown>, shape: Record<string, Guard<unknown> | Optional<unknown>>, extra: readonly string[] = []): string | undefined {
  for (const [key, guard] of Object.entries(shape)) {
    const field = value[key];
    if (typeof guard === "function") {
      if (!guard(field)) return field === undefined ? `missing field ${key}` : `field ${key} is ${JSON.stringify(field)?.slice(0, 80)}`;
    } else if (field !== undefined && !guard.optional(field)) {
      return `field ${key} is ${JSON.stringify(field)?.slice(0, 80)}`;
    }
  }
  for (const key of Object.keys(value)) {
    if (!(key in shape) && !extra.includes(key) && value[key] !== undefined) return `undeclared field ${key}`;
  }
  return undefined;
}

/** A guard for a nested object of exactly `shape`'s fields. */
function object<E>(shape: Shape<E>): Guard<E> {
  return (value): value is E => isObject(value) && shapeProblem(value, shape) === undefined;
}

/** A variant's checker: the problem of an event's fields (tags already checked), or undefined. */
interface VariantCheck<E> {
  problem(event: Record<string, unknown>): string | undefined;
  /** Ties the check to its variant's type (never read). */
  readonly _variant?: E;
}

const TAGS = ["t", "source", "type"] as const;

/** The check of one variant of exactly `shape`'s fields. */
function variant<E>(shape: Shape<E>): VariantCheck<E> {
  return { problem: (event) => shapeProblem(event, shape, TAGS) };
}

/** The check of a `type` with several variants: the event must match one of them. */
function either<A, B>(a: VariantCheck<A>, b: VariantCheck<B>): VariantCheck<A | B> {
  return { problem: (event) => (a.problem(event) === undefined || b.problem(event) === undefined ? undefined : a.problem(event)) };
}

// Shared pieces ---------------------------------------------------------------------------------------------------

const FAULT_KINDS = lit("kill_instance", "stop_instance", "start_instance", "restart_instance", "rolling_restart", "partition", "latency", "bandwidth", "redis_restart", "connection_flood", "freeze_instance", "redis_failover", "clock_skew", "client_link", "slow_consumers", "packet_fault", "stale_links");
const routeTarget = oneOf(object<{ websocket_id: string }>({ websocket_id: str }), object<{ agent_type?: string; pillar?: string }>({ agent_type: opt(str), pillar: opt(str) }));
const fleetBase = { client: str, worker: num } as const;
const faultBase = { fault_id: str, kind: FAULT_KINDS, targets: arrayOf(str), description: str } as const;
const httpAnswer = object<{ status: number; body: unknown }>({ status: num, body: any });
const victim = object<{ websocket_id: string; session_id: string; tenant_id: string }>({ websocket_id: str, session_id: str, tenant_id: str });
const lookupAnswer = object<LookupAnswer>({ status: num, record: opt(any), body: opt(any), latency_ms: opt(num) });
const isolationBase = { via: str, leaked: bool, inconclusive: bool, path: opt(lit("local", "remote")), retries: opt(num) } as const;
const CONFORMANCE_PROMISE = lit(...CONFORMANCE_PROMISES);

const registryCounts = object<RegistryCounts>({ live: num, records: num, missing: num, ghosts: num, misplaced: num, duplicates: num });

type Fleet<T extends FleetEventType> = RunEventOf<"fleet", T>;
type Probe<T extends string> = RunEventOf<"probe", T>;

/** Every variant's check, by source and type: the compiler demands one for each member of the union. */
const VARIANTS: { readonly [S in RunEventSource]: { readonly [T in RunEventTypes[S]]: VariantCheck<RunEventOf<S, T>> } } = {
  fleet: {
    connect_attempt: variant<Fleet<"connect_attempt">>({ ...fleetBase, session_id: str, tenant_id: str, target: str, attempt: num, websocket_id: opt(str), delay_ms: opt(num) }),
    welcome: variant<Fleet<"welcome">>({ ...fleetBase, session_id: str, tenant_id: str, target: str, resumed: bool, latency_ms: num, websocket_id: opt(str), instance_id: opt(str), agent_type: opt(str), pillar: opt(str) }),
    connect_error: variant<Fleet<"connect_error">>({ ...fleetBase, session_id: str, target: str, reason: str, status: opt(num), status_text: opt(str), close_code: opt(num), websocket_id: opt(str) }),
    disconnect: variant<Fleet<"disconnect">>({ ...fleetBase, session_id: str, close_code: num, reason: str, expected: bool, websocket_id: opt(str), instance_id: opt(str) }),
    reconnect_notice: variant<Fleet<"reconnect_notice">>({ ...fleetBase, session_id: str, reason: str, retry_after_ms: num, websocket_id: opt(str), instance_id: opt(str) }),
    message_sent: variant<Fleet<"message_sent">>({ ...fleetBase, session_id: str, message_id: str, to: routeTarget, websocket_id: opt(str), instance_id: opt(str) }),
    message_acked: variant<Fleet<"message_acked">>({ ...fleetBase, message_id: str, delivered: num, partial: opt(lit(true)), latency_ms: opt(num) }),
    message_error: variant<Fleet<"message_error">>({ ...fleetBase, code: str, message: str, message_id: opt(str), websocket_id: opt(str) }),
    message_received: variant<Fleet<"message_received">>({ ...fleetBase, message_id: str, session_id: str, from: opt(str), websocket_id: opt(str), latency_ms: opt(num) }),
  },
  fault: {
    fault_start: variant<RunEventOf<"fault", "fault_start">>(faultBase),
    fault_applied: variant<RunEventOf<"fault", "fault_applied">>(faultBase),
    fault_end: variant<RunEventOf<"fault", "fault_end">>({
      ...faultBase,
      ok: bool,
      duration_ms: num,
      heal_started_at: opt(num),
      error: opt(object<{ code?: string; message: string }>({ code: opt(str), message: str })),
      detail: opt(recordOf(any)),
    }),
  },
  process: {
    process_state: variant<RunEventOf<"process", "process_state">>({
      target: str,
      state: lit("idle", "starting", "started", "paused", "stopping", "stopped", "start_failure", "exited"),
      pid: opt(num),
      exit: opt(object<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }>({ code: nullable(num), signal: nullable((v): v is NodeJS.Signals => str(v) && v.startsWith("SIG")), expected: bool })),
    }),
  },
  runtime: {
    redis_restart: variant<RunEventOf<"runtime", "redis_restart">>({
      target: lit("redis"),
      detail: oneOf(object<{ phase: "killed" }>({ phase: lit("killed") }), object<{ phase: "started"; downMs: number }>({ phase: lit("started"), downMs: num })),
    }),
    redis_failover: variant<RunEventOf<"runtime", "redis_failover">>({
      target: lit("redis"),
      detail: object<RedisFailoverEvent["detail"]>({ killed: str, promoted: str, replication_lag_bytes: nullable(num), promotion_ms: num, rejoin_ms: num }),
    }),
    topology_started: variant<RunEventOf<"runtime", "topology_started">>({
      detail: object<TopologyStartedDetail>({
        instances: num,
        redis: lit("standalone", "cluster", "sentinel"),
        startMs: num,
        runtime: opt(lit("containers")),
        docker: opt(str),
        images: opt(recordOf(str)),
        toxiproxy: opt(lit("real", "compatible")),
        built: opt(arrayOf(str)),
        swept: opt(arrayOf(str)),
      }),
    }),
    topology_stopped: variant<RunEventOf<"runtime", "topology_stopped">>({}),
  },
  phase: {
    phase_start: variant<RunEventOf<"phase", "phase_start">>({ phase: str }),
    phase_end: variant<RunEventOf<"phase", "phase_end">>({ phase: str }),
  },
  engine: {
    run_start: variant<RunEventOf<"engine", "run_start">>({ run_id: str, seed: num, swept_orphans: arrayOf(num) }),
    step_start: variant<RunEventOf<"engine", "step_start">>({ index: num, description: str }),
    step_end: variant<RunEventOf<"engine", "step_end">>({ index: num, description: str, duration_ms: num }),
    step_failed: variant<RunEventOf<"engine", "step_failed">>({ index: num, description: str, code: opt(str) }),
    http_load_rejected: variant<RunEventOf<"engine", "http_load_rejected">>({ index: num, description: str, code: opt(str), message: str }),
    check_result: variant<RunEventOf<"engine", "check_result">>({ name: str, pass: bool }),
    settled: variant<RunEventOf<"engine", "settled">>({}),
    schedule: variant<RunEventOf<"engine", "schedule">>({ schedule: isObject }),
  },
  probe: {
    session_state_written: variant<Probe<"session_state_written">>({ session_id: str, tenant_id: str, via: str, status: num, written: recordOf(str), answer: any }),
    lookup_probe: variant<Probe<"lookup_probe">>({
      client: str,
      websocket_id: str,
      session_id: str,
      holder: str,
      instances: arrayOf(str),
      answers: arrayOf(object<LookupProbeAnswer>({ via: str, connection: lookupAnswer, session: lookupAnswer })),
      redis: nullable(recordOf(str)),
    }),
    route_probe: either(
      variant<Extract<Probe<"route_probe">, { skipped: string }>>({ via: str, holder: str, skipped: str }),
      variant<Extract<Probe<"route_probe">, { client: string }>>({ via: str, holder: str, client: str, websocket_id: str, session_id: str, status: num, message_id: nullable(str), delivered: nullable(num), body: opt(any) }),
    ),
    degraded_probe_skipped: variant<Probe<"degraded_probe_skipped">>({ reason: str }),
    degraded_lookup: variant<Probe<"degraded_lookup">>({ fault_id: str, via: str, kind: lit("connection", "session"), round: num, status: num, code: nullable(str), latency_ms: num, during: bool, error: opt(str) }),
    registry_convergence: variant<Probe<"registry_convergence">>({
      fault_id: nullable(str),
      fault_kind: nullable(str),
      fault_end: nullable(num),
      first: nullable(registryCounts),
      converged_after_ms: nullable(num),
      last: nullable(registryCounts),
      lookup_status_by_instance: recordOf(num),
      unrefreshed_records: num,
      reason: opt(str),
    }),
    degraded_reconcile: variant<Probe<"degraded_reconcile">>({
      fault_id: str,
      healed_at: num,
      reconciled_after_ms: nullable(num),
      lookup_status_by_instance: recordOf(num),
      reaped_records: opt(nullable(num)),
      no_reap_for_ms: opt(num),
      last: nullable(
        object<{ live: number; records: number; ghosts: Record<string, number>; missing: Record<string, number>; misplaced: number }>({ live: num, records: num, ghosts: recordOf(num), missing: recordOf(num), misplaced: num }),
      ),
    }),
    http_load_skipped: variant<Probe<"http_load_skipped">>({ endpoint: lit("lookup", "route"), reason: str }),
    http_load: variant<Probe<"http_load">>({
      started_at: num,
      endpoint: lit("lookup", "route"),
      tenant_id: str,
      sessions: num,
      requests: num,
      ok: num,
      non2xx: num,
      errors: num,
      timeouts: num,
      latency_p99_max_ms: num,
      by_instance: arrayOf((v): v is { instance: string } & Record<string, unknown> => isObject(v) && str(v.instance)),
    }),
    isolation_probe: either(
      either(
        variant<Extract<Probe<"isolation_probe">, { channel: "http" }>>({
          ...isolationBase,
          channel: lit("http"),
          kind: lit("connection_lookup", "session_lookup", "route_http", "session_state_read", "session_state_write"),
          victim,
          answer: httpAnswer,
          baseline: httpAnswer,
          message_id: opt(str),
          field: opt(str),
        }),
        variant<Extract<Probe<"isolation_probe">, { kind: "route_ws_websocket_id" | "route_ws_session" }>>({ ...isolationBase, channel: lit("ws"), kind: lit("route_ws_websocket_id", "route_ws_session"), victim, answer: isObject, baseline: isObject, message_id: any }),
      ),
      either(
        variant<Extract<Probe<"isolation_probe">, { kind: "probe_socket" }>>({ ...isolationBase, channel: lit("ws"), kind: lit("probe_socket"), answer: any, error: str }),
        variant<Extract<Probe<"isolation_probe">, { kind: "connect_foreign_session" | "resume_foreign_websocket_id" }>>({ ...isolationBase, channel: lit("ws"), kind: lit("connect_foreign_session", "resume_foreign_websocket_id"), victim, answer: isObject }),
      ),
    ),
    strand_connect_failed: variant<Probe<"strand_connect_failed">>({ via: str, status: nullable(num), error: nullable(str) }),
    stranded: variant<Probe<"stranded">>({ how: lit("cut", "kill"), websocket_id: str, session_id: str, instance_id: str }),
    conformance_plan: variant<Probe<"conformance_plan">>({ promises: arrayOf(CONFORMANCE_PROMISE), instances: arrayOf(str) }),
    conformance_probe: variant<Probe<"conformance_probe">>({
      promise: CONFORMANCE_PROMISE,
      form: str,
      path: lit("local", "remote", "none"),
      via: str,
      holder: nullable(str),
      ok: bool,
      expected: str,
      observed: recordOf(any),
      latency_ms: opt(num),
      sent_at: opt(num),
      fault_id: opt(str),
      sent_before_heal_ms: opt(nullable(num)),
    }),
    conformance_skipped: variant<Probe<"conformance_skipped">>({ promise: CONFORMANCE_PROMISE, reason: str }),
    stranded_gone: variant<Probe<"stranded_gone">>({ how: lit("kill"), websocket_id: str, session_id: str }),
    departure: variant<Probe<"departure">>({
      kind: departureKind,
      client: str,
      websocket_id: str,
      session_id: str,
      tenant_id: str,
      instance_id: str,
      agent_type: str,
      pillar: str,
      opened_at: num,
    }),
    departure_cleanup: variant<Probe<"departure_cleanup">>({
      kind: departureKind,
      websocket_id: str,
      session_id: str,
      instance_id: str,
      departed_at: num,
      gone_after_ms: nullable(num),
      lingering: arrayOf(str),
      observed_ms: num,
    }),
    departure_failed: variant<Probe<"departure_failed">>({ kind: departureKind, count: num, reason: str }),
    state_audit: variant<Probe<"state_audit">>({
      read_ms: num,
      keys: num,
      audited: num,
      live: num,
      divergent: num,
      transient: num,
      unattributed: num,
      unread: num,
      divergences: arrayOf(object<AuditDivergence>({ websocket_id: str, kind: lit("ghost", "missing"), families: arrayOf(str), since_ms: num, bound_ms: num, why: str })),
      keys_without_ttl: num,
      keys_over_ttl_bound: num,
      ttl_violations: arrayOf(object<KeyTtlViolation>({ key: str, kind: str, ttl_ms: num, bound_ms: num })),
    }),
    state_audit_failed: variant<Probe<"state_audit_failed">>({ error: str }),
    pause_wake: variant<Probe<"pause_wake">>({
      fault_id: str,
      targets: arrayOf(str),
      paused_at: num,
      woke_at: num,
      held_at_pause: num,
      min_records_while_frozen: nullable(num),
      last_frozen_read: nullable(object<{ at: number; records: number }>({ at: num, records: num })),
      recovered_after_ms: nullable(num),
      unrecovered_read_after_ms: nullable(num),
      last: nullable(
        object<{ live: number; records: number; ghosts: Record<string, number>; missing: Record<string, number>; misplaced: number }>({ live: num, records: num, ghosts: recordOf(num), missing: recordOf(num), misplaced: num }),
      ),
    }),
    pause_probe_skipped: variant<Probe<"pause_probe_skipped">>({ reason: str }),
    harness_stall: variant<Probe<"harness_stall">>({ from: num, duration_ms: num, client_path: bool, worker: opt(num), proxy: opt(bool) }),
  },
};

/**
 * Why `value` is not a member of the {@link RunEvent} union (the first problem found: a missing or mistyped tag,
 * an unknown source or type, a missing, mistyped or undeclared field), or undefined when it is one.
 */
export function runEventProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "not an object";
  if (!num(value.t)) return "field t is not a number";
  const { source, type } = value;
  if (!str(source) || !Object.hasOwn(VARIANTS, source)) return `unknown source ${JSON.stringify(source)}`;
  const types: Record<string, VariantCheck<unknown>> = VARIANTS[source as RunEventSource];
  if (!str(type) || !Object.hasOwn(types, type)) return `unknown type ${JSON.stringify(type)} of source ${source}`;
  const problem = types[type]!.problem(value);
  return problem === undefined ? undefined : `${source}/${type}: ${problem}`;
}

/** Whether `value` (e.g. an event of a parsed run.json) is a member of the {@link RunEvent} union. */
export function isRunEvent(value: unknown): value is RunEvent {
  return runEventProblem(value) === undefined;
}

/** Every source and its types, as the union declares them (for coverage tests and report filters). */
export const RUN_EVENT_TYPES: { readonly [S in RunEventSource]: readonly RunEventTypes[S][] } = Object.freeze(
  Object.fromEntries(Object.entries(VARIANTS).map(([source, types]) => [source, Object.freeze(Object.keys(types))])) as { [S in RunEventSource]: RunEventTypes[S][] },
);
