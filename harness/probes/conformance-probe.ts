import { mintClientToken, signJwt, unsecuredJwt } from "../common/jwt.js";
import { STATIC_CONFORMANCE_PROMISES, eventsOf, type ConformancePath, type ConformancePromise } from "../events/run-events.js";
import { conformanceSession, conformanceTenant, pollFor, recordAttempt } from "./conformance-io.js";
import { startDegradedConformance } from "./conformance-degraded.js";
import { startDrainWitnesses } from "./conformance-drain.js";
import { probeBadFrames } from "./conformance-frames.js";
import { errorCode, httpProbe, openProbeSocket, tenantToken, type ProbeSocket, type Welcome } from "./probe-io.js";
import type { ProbeContext, ProbeInstance } from "./probe-context.js";
import { probeTenantIsolation } from "./tenant-isolation-probe.js";

/** Sockets per instance whose record is looked up at once after their welcome. */
const WELCOME_SOCKETS_PER_INSTANCE = 2;
/**
 * How long a route's target may take to show the message: the protocol's 2000 ms bound on a remote delivery's
 * confirmation, since the ack of a delivered route comes after the holder wrote the frame.
 */
const ARRIVAL_TIMEOUT_MS = 2_000;
/** How long a removed record may take to disappear from the lookups (removal on close is "at once"), in ms. */
const REMOVAL_TIMEOUT_MS = 2_000;
/** How long the socket replaced by a resume may take to be closed with 4000, in ms. */
const EVICTION_TIMEOUT_MS = 2_000;
/** Stranded connections resumed per way of vanishing (`cut`, `kill`). */
const STRANDED_RESUMES_PER_KIND = 2;
/**
 * How long a stranded connection's record may take to go before its resume is tried, in ms: beyond the TTL of
 * every profile (30 s at most), since an unreaped record expires within it.
 */
const STRANDED_GONE_TIMEOUT_MS = 35_000;
/** How far in the future a refused token's `nbf` lies: well beyond the protocol's 5 s leeway. */
const FUTURE_NBF_S = 60;
/**
 * How long ago a refused token expired, in seconds. The protocol gives `exp` no leeway; a minute is still refused by
 * a gateway that allows a few seconds of skew (as common JWT libraries do), so only a gateway that ignores `exp`, or
 * extends it by minutes, fails.
 */
const EXPIRED_AGO_S = 60;

/** Options of {@link probeConformance}. */
export interface ProbeConformanceOptions {
  /** Promises to probe. @default STATIC_CONFORMANCE_PROMISES */
  promises?: readonly ConformancePromise[];
  /** Victims of the tenant-isolation attempts (each from its own instance and another). @default 2 */
  victims?: number;
  /** How long the partition promises wait for the partition to come into effect, in ms. @default 15000 */
  waitForFaultMs?: number;
  /** Aborts the background part (the run's teardown). */
  backgroundSignal?: AbortSignal;
}

/** What {@link probeConformance} leaves running: the promises that need a fault watch it in the background. */
export interface ConformanceProbeRun {
  /** Resolves when the background promises are judged (or aborted); absent when none was asked for. */
  background?: Promise<void>;
}

function pathOf(via: ProbeInstance, holder: ProbeInstance): ConformancePath {
  return via.id === holder.id ? "local" : "remote";
}

/**
 * Probes the promises of docs/protocol.md from every live instance, on the local path (the target held by the
 * instance the request reached) and the remote path (held by another), and records each attempt as a
 * `conformance_probe` event (`promise`, `form`, `path`, `via`, `holder`, `ok`, `observed`) that
 * `protocol-conformance` judges. The promises that need a fault (`readyz-reflects-redis` and
 * `registry-unavailable-fails-fast` a Redis partition, `drain-notice` a SIGTERM drain) set up their sockets now and
 * watch for the fault in the background: put this step before the fault step.
 */
export async function probeConformance(context: ProbeContext, options: ProbeConformanceOptions = {}): Promise<ConformanceProbeRun> {
  const promises = options.promises ?? STATIC_CONFORMANCE_PROMISES;
  const instances = context.liveInstances();
  context.record({ type: "conformance_plan", promises: [...promises], instances: instances.map((i) => i.id) });
  const token = tenantToken(context.authSecret, conformanceTenant(context.runId));
  const sockets: ProbeSocket[] = [];
  const open = async (via: ProbeInstance, sessionId: string, websocketId?: string) => {
    const opened = await openProbeSocket({ baseUrl: via.wsUrl, wsPath: context.wsPath, token, sessionId, ...(websocketId !== undefined ? { websocketId } : {}) });
    if (opened.ok) sockets.push(opened.socket);
    return opened;
  };
  const background: Promise<void>[] = [];
  try {
    if (promises.includes("welcome-after-write")) await probeWelcome(context, instances, token, open);
    if (promises.includes("sender-excluded")) await probeSenderExcluded(context, instances, open);
    if (promises.includes("resume-keeps-id")) {
      await probeResume(context, instances, token, open);
      await probeResumeStranded(context, instances);
    }
    if (promises.includes("nbf-refused")) await probeNbf(context, instances);
    if (promises.includes("bad-tokens-refused")) await probeBadTokens(context, instances);
    if (promises.includes("bad-frames-answered")) await probeBadFrames(context, instances, token);
    if (promises.includes("tenant-isolation")) await probeTenantIsolation(context, { victims: options.victims ?? 2 });
    const watch = { waitForFaultMs: options.waitForFaultMs ?? 15_000, ...(options.backgroundSignal ? { signal: options.backgroundSignal } : {}) };
    if (promises.includes("readyz-reflects-redis") || promises.includes("registry-unavailable-fails-fast")) {
      background.push((await startDegradedConformance(context, instances, token, { ...watch, readyz: promises.includes("readyz-reflects-redis"), failFast: promises.includes("registry-unavailable-fails-fast") })).done);
    }
    if (promises.includes("drain-notice")) background.push((await startDrainWitnesses(context, instances, token, { ...(options.backgroundSignal ? { signal: options.backgroundSignal } : {}) })).done);
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }
  return background.length > 0 ? { background: Promise.all(background).then(() => undefined) } : {};
}

/**
 * Runs `probe` for every ordered pair of instances (`via`, `holder`; the same instance included) at once: each pair
 * has sessions of its own, and a defect that makes every pair wait out its timeouts then costs one timeout, not one
 * per pair.
 */
async function everyPair(instances: ProbeInstance[], probe: (via: ProbeInstance, holder: ProbeInstance) => Promise<void>): Promise<void> {
  await Promise.all(instances.flatMap((via) => instances.map((holder) => probe(via, holder))));
}

type Open = (via: ProbeInstance, sessionId: string, websocketId?: string) => ReturnType<typeof openProbeSocket>;

/** Welcome only after the record is in the registry: looked up at once from every instance, it is there. */
async function probeWelcome(context: ProbeContext, instances: ProbeInstance[], token: string, open: Open): Promise<void> {
  const enc = encodeURIComponent;
  for (const holder of instances) {
    for (let n = 0; n < WELCOME_SOCKETS_PER_INSTANCE; n++) {
      const sessionId = conformanceSession("welcome");
      const opened = await open(holder, sessionId);
      if (!opened.ok) {
        recordAttempt(context, { promise: "welcome-after-write", form: "upgrade", path: "none", via: holder.id, holder: holder.id, ok: false, expected: "a welcome", observed: { ...opened } });
        continue;
      }
      const { welcome } = opened;
      // At once and in parallel, from every instance: no retry, since the welcome promises the write is done.
      await Promise.all(
        instances.flatMap((via) => [
          (async () => {
            const answer = await httpProbe(`${via.httpUrl}/v1/connections/${enc(welcome.websocket_id)}`, { token });
            const record = answer.body as { websocket_id?: unknown; instance_id?: unknown } | null;
            const ok = answer.status === 200 && record?.websocket_id === welcome.websocket_id && record?.instance_id === welcome.instance_id;
            recordAttempt(context, { promise: "welcome-after-write", form: "http_lookup_connection", path: pathOf(via, holder), via: via.id, holder: holder.id, ok, expected: "200 with the welcomed record", observed: { status: answer.status, body: answer.body, welcome }, latency_ms: answer.latency_ms });
          })(),
          (async () => {
            const answer = await httpProbe(`${via.httpUrl}/v1/sessions/${enc(sessionId)}/connections`, { token });
            const listed = (answer.body as { connections?: { websocket_id?: unknown }[] } | null)?.connections?.some((r) => r.websocket_id === welcome.websocket_id) === true;
            recordAttempt(context, { promise: "welcome-after-write", form: "http_lookup_session", path: pathOf(via, holder), via: via.id, holder: holder.id, ok: answer.status === 200 && listed, expected: "200 listing the welcomed connection", observed: { status: answer.status, body: answer.body, welcome }, latency_ms: answer.latency_ms });
          })(),
        ]),
      );
    }
  }
}

/** Whether `socket` holds a routed `message` of `routeId`. */
function received(socket: ProbeSocket, routeId: unknown): boolean {
  return socket.unsolicited.some((frame) => frame.type === "message" && frame.id === routeId);
}

/**
 * The sender never receives its own route: for every ordered pair of instances (sender on A, the other member of
 * the session on B, A = B included), a session route reaches the other member once and not the sender; a route to
 * the sender's own websocket_id reaches nobody. A ping after the ack is the barrier: frames on one socket keep
 * their order, so a copy written to the sender before the pong has arrived by then.
 */
async function probeSenderExcluded(context: ProbeContext, instances: ProbeInstance[], open: Open): Promise<void> {
  await everyPair(instances, async (via, holder) => {
    const sessionId = conformanceSession("echo");
    const receiver = await open(holder, sessionId);
    const sender = receiver.ok ? await open(via, sessionId) : receiver;
    if (!receiver.ok || !sender.ok) {
      recordAttempt(context, { promise: "sender-excluded", form: "setup", path: pathOf(via, holder), via: via.id, holder: holder.id, ok: false, expected: "two probe sockets in one session", observed: { receiver: receiver.ok ? "welcomed" : receiver, sender: sender.ok ? "welcomed" : sender } });
      return;
    }
    const ack = await sender.socket.request({ type: "route", session_id: sessionId, to: {}, payload: { probe: "sender-excluded" } });
    const arrived = (await pollFor(() => (received(receiver.socket, ack.id) ? true : undefined), ARRIVAL_TIMEOUT_MS)) === true;
    await sender.socket.request({ type: "ping" });
    const echoed = received(sender.socket, ack.id);
    recordAttempt(context, {
      promise: "sender-excluded",
      form: "ws_route_session",
      path: pathOf(via, holder),
      via: via.id,
      holder: holder.id,
      ok: ack.type === "ack" && ack.delivered === 1 && arrived && !echoed,
      expected: "ack delivered 1, received by the other member only",
      observed: { ack, received_by_other: arrived, received_by_sender: echoed },
    });
    if (via.id !== holder.id) return;
    const self = await sender.socket.request({ type: "route", session_id: sessionId, to: { websocket_id: sender.welcome.websocket_id }, payload: { probe: "sender-excluded" } });
    await sender.socket.request({ type: "ping" });
    const selfEchoed = received(sender.socket, self.id);
    recordAttempt(context, {
      promise: "sender-excluded",
      form: "ws_route_own_websocket_id",
      path: "local",
      via: via.id,
      holder: via.id,
      ok: !selfEchoed && (self.type === "error" || (self.type === "ack" && self.delivered === 0)),
      expected: "not received by the sender (ack delivered 0, or an error)",
      observed: { answer: self, received_by_sender: selfEchoed },
    });
  });
}

/** The close code `socket` ends with, or `null` when it is still open after `timeoutMs`. */
function closeCodeOf(socket: ProbeSocket, timeoutMs: number): Promise<number | null> {
  if (!socket.open) return Promise.resolve(socket.ws.readyState === socket.ws.CLOSED ? 1006 : null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    socket.ws.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Resume keeps the websocket_id, on any instance: for every ordered pair (held on A, resumed on B, A = B included),
 * a resume while the old socket is open answers `resumed:true` with the same id and closes the old socket with
 * 4000; once that socket has closed and its record is gone (removed at once on close: from the gateway's side
 * the same as an expired or reaped record), a resume on A keeps the id with `resumed:false`.
 */
async function probeResume(context: ProbeContext, instances: ProbeInstance[], token: string, open: Open): Promise<void> {
  await everyPair(instances, async (via, holder) => {
    const sessionId = conformanceSession("resume");
    const first = await open(holder, sessionId);
    if (!first.ok) {
      recordAttempt(context, { promise: "resume-keeps-id", form: "setup", path: pathOf(via, holder), via: via.id, holder: holder.id, ok: false, expected: "a welcome", observed: { ...first } });
      return;
    }
    const id = first.welcome.websocket_id;
    const evicted = closeCodeOf(first.socket, EVICTION_TIMEOUT_MS);
    const live = await open(via, sessionId, id);
    const closeCode = await evicted;
    recordAttempt(context, {
      promise: "resume-keeps-id",
      form: "resume_live_record",
      path: pathOf(via, holder),
      via: via.id,
      holder: holder.id,
      ok: live.ok && live.welcome.websocket_id === id && live.welcome.resumed === true && closeCode === 4000,
      expected: "welcome with the same websocket_id, resumed:true; the old socket closed with 4000",
      observed: { answer: live.ok ? { welcome: live.welcome } : live, old_socket_close_code: closeCode },
    });
    if (!live.ok) return;
    await live.socket.close();
    // The record goes at once on close: wait until no instance finds it (bounded), then resume on the first one.
    const gone = await untilNotFound(`${via.httpUrl}/v1/connections/${encodeURIComponent(id)}`, token, REMOVAL_TIMEOUT_MS);
    const again = await open(holder, sessionId, id);
    recordAttempt(context, {
      promise: "resume-keeps-id",
      form: "resume_missing_record",
      path: pathOf(holder, via),
      via: holder.id,
      holder: via.id,
      ok: gone && again.ok && again.welcome.websocket_id === id && again.welcome.resumed === false,
      expected: "the old record removed, then a welcome with the same websocket_id, resumed:false",
      observed: { record_removed: gone, answer: again.ok ? { welcome: again.welcome } : again },
    });
  });
}

/** Polls a lookup until it answers 404; whether it did within `timeoutMs`. */
async function untilNotFound(url: string, token: string, timeoutMs: number, intervalMs?: number): Promise<boolean> {
  return (await pollFor(async () => ((await httpProbe(url, { token })).status === 404 ? true : undefined), timeoutMs, intervalMs)) === true;
}

/**
 * Resume keeps the websocket_id also when the old record was reaped or expired: the connections stranded earlier
 * in the run (`Step.strandConnections()`: `kill`, their instance SIGKILLed for good, so a survivor reaps them or
 * they expire; `cut`, half-open, so their instance drops them) are resumed, once their record is gone, on their own
 * instance when it lives (local) or another (remote). Each resumed socket is closed at once, and its record must be
 * gone within {@link REMOVAL_TIMEOUT_MS} of that close, as any closed connection's (`resume_missing_record`): a
 * gateway that leaves the resumed record to its TTL fails here (`no-unregister`), where a wait as long as the
 * stranded record's let every TTL pass.
 */
async function probeResumeStranded(context: ProbeContext, instances: ProbeInstance[]): Promise<void> {
  // The tenant strandConnections() opens its sockets with (harness/actions/strand-connections.ts).
  const token = tenantToken(context.authSecret, `probe-${context.runId}`.slice(0, 128));
  const stranded = eventsOf(context.events, "probe", "stranded");
  const picked = (["kill", "cut"] as const).flatMap((how) => stranded.filter((e) => e.how === how).slice(0, STRANDED_RESUMES_PER_KIND));
  // At once: a record that never goes (no reaping) then costs one wait, not one per stranded connection.
  await Promise.all(
    picked.map(async (e, n) => {
      const holder = instances.find((i) => i.id === e.instance_id);
      const via = holder ?? instances[n % instances.length]!;
      const lookup = `${via.httpUrl}/v1/connections/${encodeURIComponent(e.websocket_id)}`;
      const gone = await untilNotFound(lookup, token, STRANDED_GONE_TIMEOUT_MS, 100);
      const again = await openProbeSocket({ baseUrl: via.wsUrl, wsPath: context.wsPath, token, sessionId: e.session_id, websocketId: e.websocket_id });
      // The resumed connection is the probe's own: its clean close unregisters it, and the step waits for that, so
      // that `ttl-expiry`, reading the registry after the run, never takes the probe's fresh record for the
      // stranded one (seen: read 16 ms after the close, before the instance's batched unregister had landed).
      let resumedGone = true;
      if (again.ok) {
        await again.socket.close();
        resumedGone = await untilNotFound(lookup, token, REMOVAL_TIMEOUT_MS, 50);
      }
      recordAttempt(context, {
        promise: "resume-keeps-id",
        form: e.how === "kill" ? "resume_reaped_record" : "resume_dropped_half_open",
        path: holder ? "local" : "remote",
        via: via.id,
        holder: e.instance_id,
        ok: gone && again.ok && again.welcome.websocket_id === e.websocket_id && again.welcome.resumed === false && resumedGone,
        expected: `the stranded record gone, then a welcome with the same websocket_id, resumed:false, and the resumed record gone within ${REMOVAL_TIMEOUT_MS} ms of its clean close`,
        observed: { record_gone: gone, answer: again.ok ? { welcome: again.welcome } : again, resumed_record_gone: resumedGone },
      });
    }),
  );
}

/** A token of `tenantId` whose `nbf` lies {@link FUTURE_NBF_S} ahead. */
function notYetValidToken(secret: string, tenantId: string): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ tenant_id: tenantId, iat: now, nbf: now + FUTURE_NBF_S, exp: now + 3_600 }, secret);
}

/**
 * A token whose `nbf` lies in the future is refused with 401 `UNAUTHORIZED`, at the upgrade and on the HTTP API of
 * every instance. The same HTTP request with a valid token must not be 401 (else the refusal proves nothing).
 */
async function probeNbf(context: ProbeContext, instances: ProbeInstance[]): Promise<void> {
  const tenant = conformanceTenant(context.runId);
  const early = notYetValidToken(context.authSecret, tenant);
  const valid = tenantToken(context.authSecret, tenant);
  for (const via of instances) {
    const upgrade = await openProbeSocket({ baseUrl: via.wsUrl, wsPath: context.wsPath, token: early, sessionId: conformanceSession("nbf") });
    if (upgrade.ok) await upgrade.socket.close();
    const welcome: Welcome | undefined = upgrade.ok ? upgrade.welcome : undefined;
    recordAttempt(context, {
      promise: "nbf-refused",
      form: "upgrade",
      path: "none",
      via: via.id,
      holder: null,
      ok: !upgrade.ok && upgrade.status === 401 && errorCode(upgrade.body) === "UNAUTHORIZED",
      expected: `401 UNAUTHORIZED for nbf ${FUTURE_NBF_S} s ahead`,
      observed: upgrade.ok ? { welcome } : { status: upgrade.status, body: upgrade.body, close_code: upgrade.close_code, error: upgrade.error },
    });
    const path = `/v1/sessions/${encodeURIComponent(conformanceSession("nbf"))}/connections`;
    const refused = await httpProbe(`${via.httpUrl}${path}`, { token: early });
    const control = await httpProbe(`${via.httpUrl}${path}`, { token: valid });
    recordAttempt(context, {
      promise: "nbf-refused",
      form: "http_lookup_session",
      path: "none",
      via: via.id,
      holder: null,
      ok: refused.status === 401 && errorCode(refused.body) === "UNAUTHORIZED" && control.status !== 401,
      expected: `401 UNAUTHORIZED for nbf ${FUTURE_NBF_S} s ahead (and not 401 with a valid token)`,
      observed: { status: refused.status, body: refused.body, control_status: control.status },
    });
  }
}

/** Tokens docs/protocol.md refuses with 401 `UNAUTHORIZED`, by the attempt's form and what is wrong with each. */
function badTokens(secret: string, tenantId: string): { form: string; token: string; why: string }[] {
  const now = Math.floor(Date.now() / 1000);
  const claims = { tenant_id: tenantId, iat: now, exp: now + 3_600 };
  return [
    { form: "expired", token: signJwt({ tenant_id: tenantId, iat: now - 3_600, exp: now - EXPIRED_AGO_S }, secret), why: `exp ${EXPIRED_AGO_S} s ago` },
    { form: "bad_signature", token: signJwt(claims, `${secret}-other`), why: "signed with another secret" },
    { form: "alg_none", token: unsecuredJwt(claims), why: "alg none, no signature" },
    { form: "no_tenant", token: signJwt({ iat: now, exp: now + 3_600 }, secret), why: "no tenant_id claim" },
  ];
}

/**
 * Bad tokens and malformed connects are refused as docs/protocol.md says, at every instance: an expired token, one
 * signed with another secret, an unsecured one (`alg: none`) and one without `tenant_id` get 401 `UNAUTHORIZED` at
 * the upgrade and on the HTTP API (where the same request with a valid token must not be 401); a token pinned to
 * one session gets 403 `FORBIDDEN` for another session (and a welcome for its own); a connect without `session_id`
 * gets 400 `SESSION_ID_REQUIRED`.
 */
async function probeBadTokens(context: ProbeContext, instances: ProbeInstance[]): Promise<void> {
  const tenant = conformanceTenant(context.runId);
  const valid = tenantToken(context.authSecret, tenant);
  const refusedWith = (status: number, code: string) => (answer: { status?: number; body?: unknown }) => answer.status === status && errorCode(answer.body) === code;
  const unauthorized = refusedWith(401, "UNAUTHORIZED");
  const attempt = (via: ProbeInstance, form: string, ok: boolean, expected: string, observed: Record<string, unknown>) =>
    recordAttempt(context, { promise: "bad-tokens-refused", form, path: "none", via: via.id, holder: null, ok, expected, observed });
  const observedOf = (answer: Awaited<ReturnType<typeof openProbeSocket>>) => (answer.ok ? { welcome: answer.welcome } : { status: answer.status, body: answer.body, close_code: answer.close_code, error: answer.error });
  const connect = async (via: ProbeInstance, token: string, sessionId: string | null) => {
    const answer = await openProbeSocket({ baseUrl: via.wsUrl, wsPath: context.wsPath, token, sessionId });
    if (answer.ok) await answer.socket.close();
    return answer;
  };
  for (const via of instances) {
    const sessionId = conformanceSession("tokens");
    const path = `/v1/sessions/${encodeURIComponent(sessionId)}/connections`;
    const control = await httpProbe(`${via.httpUrl}${path}`, { token: valid });
    for (const { form, token, why } of badTokens(context.authSecret, tenant)) {
      const upgrade = await connect(via, token, sessionId);
      attempt(via, `upgrade_${form}`, !upgrade.ok && unauthorized(upgrade), `401 UNAUTHORIZED for a token ${why}`, observedOf(upgrade));
      const http = await httpProbe(`${via.httpUrl}${path}`, { token });
      attempt(via, `http_${form}`, unauthorized(http) && control.status !== 401, `401 UNAUTHORIZED for a token ${why} (and not 401 with a valid token)`, { status: http.status, body: http.body, control_status: control.status });
    }
    const pinned = mintClientToken(context.authSecret, { tenantId: tenant, sessionId });
    const elsewhere = await connect(via, pinned, conformanceSession("tokens-other"));
    const own = await connect(via, pinned, sessionId);
    attempt(via, "upgrade_pinned_session", !elsewhere.ok && refusedWith(403, "FORBIDDEN")(elsewhere) && own.ok, "403 FORBIDDEN for a token pinned to another session (and a welcome in its own)", { answer: observedOf(elsewhere), own_session: observedOf(own) });
    const unnamed = await connect(via, valid, null);
    attempt(via, "upgrade_no_session_id", !unnamed.ok && refusedWith(400, "SESSION_ID_REQUIRED")(unnamed), "400 SESSION_ID_REQUIRED for a connect without session_id", observedOf(unnamed));
  }
}
