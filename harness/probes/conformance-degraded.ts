import { setTimeout as delay } from "node:timers/promises";
import { eventsOf, healStart, type RunEventOf } from "../events/run-events.js";
import { conformanceSession, pollFor, recordAttempt } from "./conformance-io.js";
import { openPartition } from "./degraded-mode-probe.js";
import { errorCode, httpProbe, openProbeSocket, type HttpProbeResult, type ProbeSocket, type Welcome } from "./probe-io.js";
import type { ProbeContext, ProbeInstance } from "./probe-context.js";

/** Rounds of fail-fast attempts per partition (the first at once, then while the partition lasts). */
const MAX_ROUNDS = 3;
/** Pause between rounds, in ms. */
const ROUND_GAP_MS = 300;
/** `/readyz` poll period during and after the partition, in ms. */
const READYZ_POLL_MS = 100;
/** Longest a `/readyz` request may take before it counts as not answered, in ms. */
const READYZ_TIMEOUT_MS = 1_000;
/**
 * `/readyz` samples started this close to the moment the partition's heal began (`fault_end.heal_started_at`) are
 * not judged as "during": a request sent just before it may be answered after the gateway has Redis back.
 */
const HEAL_MARGIN_MS = 200;
/** How long after the heal `/readyz` is watched for 200, in ms (the check's bound is shorter). */
const WATCH_AFTER_HEAL_MS = 20_000;

/** Options of {@link startDegradedConformance}. */
export interface DegradedConformanceOptions {
  waitForFaultMs: number;
  signal?: AbortSignal;
  /** Probe `readyz-reflects-redis`. */
  readyz: boolean;
  /** Probe `registry-unavailable-fails-fast`. */
  failFast: boolean;
}

/** One instance's probe session: a sender and a target socket, both held by `instance`. */
interface Seat {
  instance: ProbeInstance;
  sessionId: string;
  sender: ProbeSocket;
  target: Welcome;
}

/** An attempt made during the partition, recorded once the heal time is known. */
interface Attempt {
  form: string;
  via: ProbeInstance;
  holder: ProbeInstance;
  sentAt: number;
  ok: boolean;
  expected: string;
  observed: Record<string, unknown>;
  latency_ms: number;
}

const expectUnavailable = "503 / error REGISTRY_UNAVAILABLE";

function httpUnavailable(answer: HttpProbeResult): boolean {
  return answer.status === 503 && errorCode(answer.body) === "REGISTRY_UNAVAILABLE";
}

/**
 * Sets up, while Redis is reachable, a probe session on every instance (a sender and a target socket), then
 * returns (as `done`) a background task that waits for a Redis partition (`Fault.partition`, started after this step) and,
 * on every partitioned instance: polls `/readyz` (non-200 from soon after the cut until the heal, 200 again
 * after it), and makes lookups and routes on the local path (target on that instance) and the remote path
 * (target on the next instance): lookups and remote routes must fail with `REGISTRY_UNAVAILABLE`, a
 * `{websocket_id}` route to a local socket is still delivered, a local session route is acked `partial`. Every
 * answer's latency is measured; `protocol-conformance` bounds it. The sockets are closed once their instance is
 * ready again, so that their records are removed rather than left to expire.
 */
export async function startDegradedConformance(context: ProbeContext, instances: ProbeInstance[], token: string, options: DegradedConformanceOptions): Promise<{ done: Promise<void> }> {
  const seats: Seat[] = [];
  const sockets: ProbeSocket[] = [];
  for (const instance of instances) {
    const sessionId = conformanceSession("degraded");
    const open = async () => {
      const opened = await openProbeSocket({ baseUrl: instance.wsUrl, wsPath: context.wsPath, token, sessionId });
      if (opened.ok) {
        sockets.push(opened.socket);
        context.keep(opened.socket);
      }
      return opened;
    };
    const target = await open();
    const sender = await open();
    if (target.ok && sender.ok) seats.push({ instance, sessionId, sender: sender.socket, target: target.welcome });
  }
  const aborted = () => options.signal?.aborted === true;
  const skip = (reason: string) => {
    if (options.readyz) context.record({ type: "conformance_skipped", promise: "readyz-reflects-redis", reason });
    if (options.failFast) context.record({ type: "conformance_skipped", promise: "registry-unavailable-fails-fast", reason });
  };
  const run = async () => {
    if (seats.length === 0) return skip("no probe socket could connect before the partition");
    const partition = await pollFor(() => (aborted() ? null : openPartition(context.events)), options.waitForFaultMs);
    if (!partition) return skip(aborted() ? "the run ended first" : "no Redis partition came into effect: put Step.fault(Fault.partition(...), { background: true }) right after this step");
    const faultEnd = () => eventsOf(context.events, "fault", "fault_end").find((e) => e.fault_id === partition.fault_id);
    const cut = seats.filter((seat) => partition.targets.length === 0 || partition.targets.includes(seat.instance.id));
    const readyz = options.readyz ? Promise.all(cut.map((seat) => watchReadyz(context, seat.instance, partition, faultEnd, aborted))) : Promise.resolve();
    const attempts: Attempt[] = [];
    if (options.failFast) {
      for (let round = 0; round < MAX_ROUNDS && !faultEnd() && !aborted(); round++) {
        const batches = await Promise.all(cut.map((seat) => attemptsFrom(seat, seats[(seats.indexOf(seat) + 1) % seats.length]!, token)));
        attempts.push(...batches.flat());
        if (round < MAX_ROUNDS - 1) await delay(ROUND_GAP_MS);
      }
    }
    const end = await pollFor(() => (aborted() ? null : faultEnd()), 120_000);
    for (const a of attempts) {
      recordAttempt(context, {
        promise: "registry-unavailable-fails-fast",
        form: a.form,
        path: a.via.id === a.holder.id ? "local" : "remote",
        via: a.via.id,
        holder: a.holder.id,
        ok: a.ok,
        expected: a.expected,
        observed: a.observed,
        latency_ms: a.latency_ms,
        sent_at: a.sentAt,
        fault_id: partition.fault_id,
        sent_before_heal_ms: end ? healStart(end) - a.sentAt : null,
      });
    }
    await readyz;
    // Close only once each instance answers ready again, so that the close's removal reaches Redis.
    await Promise.all(seats.map((seat) => pollFor(async () => (aborted() || (await httpProbe(`${seat.instance.httpUrl}/readyz`, { token, timeoutMs: READYZ_TIMEOUT_MS })).status === 200 ? true : undefined), 10_000, READYZ_POLL_MS)));
  };
  // Wrapped: an async function would otherwise wait for the background task itself.
  return { done: run().finally(() => Promise.all(sockets.map((socket) => socket.close()))) };
}

/** The attempts of one round from `seat`'s instance: local targets on it, remote ones on `remote`'s instance. */
async function attemptsFrom(seat: Seat, remote: Seat, token: string): Promise<Attempt[]> {
  const enc = encodeURIComponent;
  const base = seat.instance.httpUrl;
  const out: Attempt[] = [];
  const http = async (form: string, holder: Seat, request: () => Promise<HttpProbeResult>, judge: (a: HttpProbeResult) => boolean, expected: string) => {
    const sentAt = Date.now();
    const answer = await request();
    out.push({ form, via: seat.instance, holder: holder.instance, sentAt, ok: judge(answer), expected, observed: { status: answer.status, body: answer.body, ...(answer.error ? { error: answer.error } : {}) }, latency_ms: answer.latency_ms });
  };
  const ws = async (form: string, holder: Seat, frame: Record<string, unknown>, judge: (f: Record<string, unknown>) => boolean, expected: string) => {
    const sentAt = Date.now();
    const t0 = performance.now();
    const answer = await seat.sender.request(frame);
    out.push({ form, via: seat.instance, holder: holder.instance, sentAt, ok: judge(answer), expected, observed: { answer }, latency_ms: Math.round((performance.now() - t0) * 10) / 10 });
  };
  const unavailableFrame = (f: Record<string, unknown>) => f.type === "error" && f.code === "REGISTRY_UNAVAILABLE";
  const targets = remote === seat ? [seat] : [seat, remote];
  await Promise.all(
    targets.flatMap((holder) => {
      const local = holder === seat;
      const byId = { websocket_id: holder.target.websocket_id };
      return [
        http("http_lookup_connection", holder, () => httpProbe(`${base}/v1/connections/${enc(holder.target.websocket_id)}`, { token }), httpUnavailable, expectUnavailable),
        http("http_lookup_session", holder, () => httpProbe(`${base}/v1/sessions/${enc(holder.sessionId)}/connections`, { token }), httpUnavailable, expectUnavailable),
        local
          ? http("http_route_websocket_id", holder, () => httpProbe(`${base}/v1/sessions/${enc(holder.sessionId)}/messages`, { token, method: "POST", body: { to: byId, payload: { probe: "degraded" } } }), (a) => a.status === 200 && (a.body as { delivered?: unknown })?.delivered === 1, "200 delivered 1 (a socket held here)")
          : http("http_route_websocket_id", holder, () => httpProbe(`${base}/v1/sessions/${enc(holder.sessionId)}/messages`, { token, method: "POST", body: { to: byId, payload: { probe: "degraded" } } }), httpUnavailable, expectUnavailable),
        local
          ? ws("ws_route_websocket_id", holder, { type: "route", session_id: holder.sessionId, to: byId, payload: { probe: "degraded" } }, (f) => f.type === "ack" && f.delivered === 1, "ack delivered 1 (a socket held here)")
          : ws("ws_route_websocket_id", holder, { type: "route", session_id: holder.sessionId, to: byId, payload: { probe: "degraded" } }, unavailableFrame, expectUnavailable),
        local
          ? ws("ws_route_session", holder, { type: "route", session_id: holder.sessionId, to: {}, payload: { probe: "degraded" } }, (f) => f.type === "ack" && f.delivered === 1 && f.partial === true, "ack delivered 1, partial:true (this instance's sockets only)")
          : ws("ws_route_session", holder, { type: "route", session_id: holder.sessionId, to: {}, payload: { probe: "degraded" } }, unavailableFrame, expectUnavailable),
      ];
    }),
  );
  return out;
}

/**
 * Polls `/readyz` of `instance` from the partition's start until it is 200 again after the heal, and records one
 * `readyz-reflects-redis` attempt: when it first answered non-200 (ms after the cut), whether it answered 200
 * again before the heal, and when it answered 200 after it (ms after the heal).
 */
async function watchReadyz(
  context: ProbeContext,
  instance: ProbeInstance,
  partition: RunEventOf<"fault", "fault_applied">,
  faultEnd: () => RunEventOf<"fault", "fault_end"> | undefined,
  aborted: () => boolean,
): Promise<void> {
  const samples: { start: number; status: number }[] = [];
  for (;;) {
    if (aborted()) return;
    const start = Date.now();
    const answer = await httpProbe(`${instance.httpUrl}/readyz`, { token: "", timeoutMs: READYZ_TIMEOUT_MS });
    samples.push({ start, status: answer.status });
    const end = faultEnd();
    if (end && ((answer.status === 200 && start >= end.t) || Date.now() - end.t > WATCH_AFTER_HEAL_MS)) break;
    await delay(READYZ_POLL_MS);
  }
  const healAt = healStart(faultEnd()!);
  const during = samples.filter((s) => s.start >= partition.t && s.start < healAt - HEAL_MARGIN_MS);
  const firstUnready = during.find((s) => s.status !== 200);
  const flap = firstUnready ? during.find((s) => s.start > firstUnready.start && s.status === 200) : undefined;
  const ready = samples.find((s) => s.start >= healAt && s.status === 200);
  const observed = {
    first_unready_after_ms: firstUnready ? firstUnready.start - partition.t : null,
    ready_again_during_ms: flap ? flap.start - partition.t : null,
    ready_after_heal_ms: ready ? ready.start - healAt : null,
    samples_during: during.length,
    statuses_during: [...new Set(during.map((s) => s.status))],
  };
  recordAttempt(context, {
    promise: "readyz-reflects-redis",
    form: "readyz",
    path: "none",
    via: instance.id,
    holder: null,
    ok: firstUnready !== undefined && flap === undefined && ready !== undefined,
    expected: "non-200 from soon after the cut until the heal, 200 again after it",
    observed,
    fault_id: partition.fault_id,
  });
}
