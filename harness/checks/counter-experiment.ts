/**
 * The counter experiment of `metrics-agree`: once the run has settled, the check makes a few requests of known effect
 * on each live instance and reads its metrics page just before and just after them. Every judged counter must then
 * have moved by exactly what those requests are worth: a counter that counts too much (a refused upgrade counted as
 * a registration, a route counted twice) fails here, where the run-long floors of ./metrics-counters.ts only catch
 * counters that count too little. It also judges instances whose process restarted during the run: only the change
 * over the experiment counts.
 *
 * On instance `I`, with the next live instance `J` as the partner when there is one, in a session of its own of a
 * tenant of its own (a welcome is awaited before each next step, an answer before each next request):
 *
 * | request | on `I` | on `J` |
 * |---|---|---|
 * | sockets `a` and `b` connect to `I`, `c` to `J` | `registrations_total{kind="new"}` +2 | `{kind="new"}` +1 |
 * | `b2` resumes `b`'s id on `I` while `b` is open (`b` is closed by the gateway) | `{kind="resume"}` +1 | |
 * | `a` routes to the session (to `b2` here and `c` there; the sender is left out) | `route_requests_total{origin="ws"}` +1, `routes_total{path="local"}` +1, `{path="remote"}` +1 | |
 * | `a` routes to a websocket id the session does not have | `{origin="ws"}` +1, `errors_total{code="NOT_FOUND"}` +1 | |
 * | `a` sends a frame that is not JSON | `errors_total{code="INVALID_MESSAGE"}` +1 | |
 * | an upgrade with a token that is no JWT | `upgrades_refused_total{status="401"}` +1, `errors_total{code="UNAUTHORIZED"}` +1 | |
 * | `POST /v1/sessions/S/messages` to `a` | `{origin="http"}` +1, `{path="local"}` +1 | |
 * | then `a`, `b2` and `c` close (pages read again) | `unregistrations_total` +2 (`b`'s record was taken over by `b2`: not removed) | `unregistrations_total` +1 |
 *
 * Every other series of those six counters must not move (over the requests, `unregistrations_total` neither). The
 * fleet is settled but still connected, so a client of its may reconnect meanwhile and move a counter too: an attempt
 * where a counter moved past its mark is made again, up to {@link EXPERIMENT_ATTEMPTS} times, and the instance passes
 * on the first attempt that agrees exactly. A gateway that counts wrongly disagrees every time (what else happens only
 * adds to a counter; it never takes away a double count), so an attempt whose only misses are counters short of their
 * mark once the reading's bound has passed is final, and so is one whose requests were not answered as it needs. A
 * wrong counter on the partner is laid to the partner, not to the instance asked.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { metricsText } from "../recorder/metrics-scraper.js";
import { pollFor } from "../probes/conformance-io.js";
import { httpProbe, openProbeSocket, tenantToken, type ProbeConnectResult, type ProbeSocket } from "../probes/probe-io.js";
import type { CheckContext } from "./check.js";
import { compareSeriesDeltas, ERRORS, readCounterSeries, REGISTRATIONS, ROUTE_REQUESTS, ROUTES, seriesName, UNREGISTRATIONS, UPGRADES_REFUSED, type CounterSeries, type SeriesMismatch } from "./metrics-counters.js";

/** Attempts per instance before a disagreement is judged (the first two may meet a fleet client's reconnect). */
export const EXPERIMENT_ATTEMPTS = 3;
/** Bound of each request of the experiment, and of a page read, ms: a settled instance answers in milliseconds. */
const STEP_TIMEOUT_MS = 5_000;
/** How long the reading after the requests may take to show them, ms (a SUT may count just after it answers). */
const AFTER_SETTLE_MS = 1_000;
/**
 * How long the closes may take to show in `traffic_cop_unregistrations_total`, ms: a record is counted once Redis
 * removed it, after the close reached the gateway (the `cleanup` scenario's own bound for a removal is 2 s).
 */
const CLOSE_SETTLE_MS = 3_000;
const POLL_MS = 50;

/** One attempt on one instance. */
export interface ExperimentAttempt {
  instance: string;
  /** The instance that held the remote recipient, if any. */
  partner?: string;
  /** The series that did not move as expected, on either instance. */
  mismatches: SeriesMismatch[];
  /** The request the SUT did not answer as the experiment needs (the attempt then judges nothing). */
  failed_step?: string;
  detail?: unknown;
}

/** What the experiment found on every live instance. */
export interface ExperimentOutcome {
  /**
   * Live instances no final attempt found a wrong counter on (as the one asked or as a partner), and whose own
   * experiment could be made.
   */
  agreed: string[];
  /** Live instances a final attempt found a wrong counter on, or whose own experiment could not be made. */
  disagreeing: string[];
  /** The final attempts that found a wrong counter (on the instance asked or on its partner) or could not be made. */
  disagreed: ExperimentAttempt[];
  attempts: number;
}

/**
 * The expected change of each series on the instance asked (`I`) and on its partner (`J`), over the requests and
 * then over the closes.
 */
function expectedDeltas(withPartner: boolean): { instance: Map<string, number>; partner: Map<string, number>; closedInstance: Map<string, number>; closedPartner: Map<string, number> } {
  const instance = new Map<string, number>([
    [seriesName(REGISTRATIONS, "new"), 2],
    [seriesName(REGISTRATIONS, "resume"), 1],
    [seriesName(ROUTE_REQUESTS, "ws"), 2],
    [seriesName(ROUTE_REQUESTS, "http"), 1],
    [seriesName(ROUTES, "local"), 2],
    [seriesName(ERRORS, "NOT_FOUND"), 1],
    [seriesName(ERRORS, "INVALID_MESSAGE"), 1],
    [seriesName(ERRORS, "UNAUTHORIZED"), 1],
    [seriesName(UPGRADES_REFUSED, "401"), 1],
  ]);
  if (withPartner) instance.set(seriesName(ROUTES, "remote"), 1);
  return {
    instance,
    partner: new Map([[seriesName(REGISTRATIONS, "new"), 1]]),
    closedInstance: new Map([[UNREGISTRATIONS, 2]]),
    closedPartner: new Map([[UNREGISTRATIONS, 1]]),
  };
}

class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly detail: unknown,
  ) {
    super(step);
  }
}

/** Runs the experiment on every live instance, one at a time, and reports which agreed. */
export async function runCounterExperiments(context: CheckContext, metricsPath: string): Promise<ExperimentOutcome> {
  const live = context.liveInstances();
  const tag = randomBytes(4).toString("hex");
  const outcome: ExperimentOutcome = { agreed: [], disagreeing: [], disagreed: [], attempts: 0 };
  /** Instances a final attempt found wrong: each mismatch names the instance whose page it read. */
  const wrong = new Set<string>();
  for (const [index, instance] of live.entries()) {
    const partner = live.length > 1 ? live[(index + 1) % live.length] : undefined;
    let last: ExperimentAttempt | undefined;
    for (let attempt = 1; attempt <= EXPERIMENT_ATTEMPTS; attempt++) {
      if (context.signal?.aborted) return { ...outcome, agreed: [] };
      outcome.attempts++;
      last = await attemptOn(context, metricsPath, instance, partner, `${tag}-${index}-${attempt}`);
      // Another client's request only ever adds to a counter: an attempt where a counter moved past its mark may be
      // such noise and is made again. One that agreed, or whose misses are all counters short of their mark once the
      // bound passed, is final; so is one whose requests were not answered as needed (at check time, on a settled
      // run, a gateway that refuses a valid connect or leaves a resumed socket open does so every time, and each such
      // step waits out its bound).
      if (last.failed_step !== undefined || !last.mismatches.some((m) => m.changed_by > m.expected)) break;
    }
    if (last!.mismatches.length === 0 && last!.failed_step === undefined) continue;
    outcome.disagreed.push(last!);
    if (last!.failed_step !== undefined) wrong.add(instance);
    for (const mismatch of last!.mismatches) wrong.add(mismatch.instance);
  }
  outcome.agreed = live.filter((instance) => !wrong.has(instance));
  outcome.disagreeing = live.filter((instance) => wrong.has(instance));
  return outcome;
}

type Judged = [id: string, baseline: CounterSeries, expected: ReadonlyMap<string, number>];

/**
 * Reads the pages of `own` (and `partner`) until every series moved from its baseline by exactly what is expected,
 * one has moved past it (counters only grow: waiting changes nothing), or `boundMs` passed.
 */
async function readUntil(page: (id: string) => Promise<CounterSeries>, own: Judged, partner: Judged | undefined, boundMs: number): Promise<{ mismatches: SeriesMismatch[]; pages: CounterSeries[] }> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const pages: CounterSeries[] = [];
    const mismatches: SeriesMismatch[] = [];
    for (const [id, baseline, expected] of partner === undefined ? [own] : [own, partner]) {
      const now = await page(id);
      pages.push(now);
      mismatches.push(...compareSeriesDeltas(id, baseline, now, expected));
    }
    if (mismatches.length === 0 || mismatches.some((m) => m.changed_by > m.expected) || Date.now() >= deadline) return { mismatches, pages };
    await delay(POLL_MS);
  }
}

async function attemptOn(context: CheckContext, metricsPath: string, instance: string, partner: string | undefined, tag: string): Promise<ExperimentAttempt> {
  const httpUrl = (id: string) => context.instanceUrls[id]!;
  const wsUrl = (id: string) => httpUrl(id).replace(/^http/, "ws");
  const tenant = `counters-${tag}`;
  const session = `counters-${tag}`;
  const token = tenantToken(context.authSecret, tenant);
  const wsPath = context.wsPath ?? "/ws";
  const sockets: ProbeSocket[] = [];
  const page = async (id: string): Promise<CounterSeries> => {
    const text = await metricsText(`${httpUrl(id)}${metricsPath}`, STEP_TIMEOUT_MS);
    if (text === undefined) throw new StepFailed(`read ${metricsPath} of ${id}`, "no 200 answer");
    return readCounterSeries(text);
  };
  const open = async (step: string, id: string, websocketId?: string): Promise<Extract<ProbeConnectResult, { ok: true }>> => {
    const answer = await openProbeSocket({ baseUrl: wsUrl(id), wsPath, token, sessionId: session, ...(websocketId !== undefined ? { websocketId } : {}), timeoutMs: STEP_TIMEOUT_MS });
    if (!answer.ok) throw new StepFailed(step, answer);
    sockets.push(answer.socket);
    return answer;
  };
  const expected = expectedDeltas(partner !== undefined);
  /** Whether the closes were read back: the removals they started have then been waited for (bounded) already. */
  let closesRead = false;
  try {
    const before = await page(instance);
    const partnerBefore = partner === undefined ? undefined : await page(partner);
    const a = await open("connect a", instance);
    const b = await open("connect b", instance);
    if (partner !== undefined) await open(`connect c to ${partner}`, partner);
    const closed = new Promise<number>((resolve) => b.socket.ws.once("close", resolve));
    const b2 = await open("resume b while it is open", instance, b.welcome.websocket_id);
    if (b2.welcome.websocket_id !== b.welcome.websocket_id) throw new StepFailed("resume b while it is open (its id kept)", b2.welcome);
    const closeCode = await Promise.race([closed, delay(STEP_TIMEOUT_MS).then(() => undefined)]);
    if (closeCode === undefined) throw new StepFailed("the resumed socket closed by the gateway", "still open");
    const routed = await a.socket.request({ type: "route", session_id: session, to: {}, payload: { counters: tag } }, STEP_TIMEOUT_MS);
    const recipients = partner === undefined ? 1 : 2;
    if (routed.type !== "ack" || routed.delivered !== recipients) throw new StepFailed(`route to the session (${recipients} recipients)`, routed);
    const missing = await a.socket.request({ type: "route", session_id: session, to: { websocket_id: `counters-missing-${tag}` }, payload: {} }, STEP_TIMEOUT_MS);
    if (missing.type !== "error" || missing.code !== "NOT_FOUND") throw new StepFailed("route to a missing websocket id", missing);
    a.socket.unsolicited.length = 0;
    a.socket.ws.send("not json");
    const invalid = await pollFor(() => a.socket.unsolicited.find((frame) => frame.type === "error"), STEP_TIMEOUT_MS);
    if (invalid?.code !== "INVALID_MESSAGE") throw new StepFailed("a frame that is not JSON", invalid ?? "no answer");
    const refused = await openProbeSocket({ baseUrl: wsUrl(instance), wsPath, token: "not-a-jwt", sessionId: session, timeoutMs: STEP_TIMEOUT_MS });
    if (refused.ok || refused.status !== 401) {
      if (refused.ok) sockets.push(refused.socket);
      throw new StepFailed("an upgrade with a token that is no JWT", refused.ok ? "welcomed" : refused);
    }
    const posted = await httpProbe(`${httpUrl(instance)}/v1/sessions/${encodeURIComponent(session)}/messages`, {
      method: "POST",
      token,
      body: { to: { websocket_id: a.welcome.websocket_id }, payload: { counters: tag } },
      timeoutMs: STEP_TIMEOUT_MS,
    });
    if (posted.status !== 200 || (posted.body as { delivered?: unknown } | null)?.delivered !== 1) throw new StepFailed("POST a message to a", posted);
    const after = await readUntil(page, [instance, before, expected.instance], partner === undefined ? undefined : [partner, partnerBefore!, expected.partner], AFTER_SETTLE_MS);
    if (after.mismatches.length > 0) return { instance, ...(partner !== undefined ? { partner } : {}), mismatches: after.mismatches };
    // Then the closes: each open socket's record removed and counted once (the resumed socket's was taken over).
    await Promise.all(sockets.map((socket) => socket.close()));
    const removed = await readUntil(page, [instance, after.pages[0], expected.closedInstance], partner === undefined ? undefined : [partner, after.pages[1]!, expected.closedPartner], CLOSE_SETTLE_MS);
    closesRead = true;
    return { instance, ...(partner !== undefined ? { partner } : {}), mismatches: removed.mismatches };
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    return { instance, ...(partner !== undefined ? { partner } : {}), mismatches: [], failed_step: error.step, detail: error.detail };
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
    // An attempt that stopped early leaves removals under way, which would move the next attempt's counters: wait
    // (bounded) until the session has no record left. The lookup's own 404 moves `errors_total` after the readings.
    if (sockets.length > 0 && !closesRead) {
      const lookup = `${httpUrl(instance)}/v1/sessions/${encodeURIComponent(session)}/connections`;
      await pollFor(async () => ((await httpProbe(lookup, { token, timeoutMs: STEP_TIMEOUT_MS })).status === 404 ? true : undefined), CLOSE_SETTLE_MS, POLL_MS);
    }
  }
}
