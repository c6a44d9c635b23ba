import { conformanceSession, pollFor, recordAttempt } from "./conformance-io.js";
import { openProbeSocket, type ProbeSocket } from "./probe-io.js";
import type { ProbeContext, ProbeInstance } from "./probe-context.js";

/** Close code of a drain that reached its timeout (docs/protocol.md, "Close codes"). */
const DRAIN_CLOSE_CODE = 1012;
/** Largest `retry_after_ms` a notice may carry: the protocol spreads it over `[0, min(1000, DRAIN_TIMEOUT_MS/4)]`. */
const MAX_RETRY_AFTER_MS = 1_000;
/** How long witnesses wait for their instance to drain, at most, in ms (a rolling deploy drains one at a time). */
const WATCH_MS = 120_000;

/** Options of {@link startDrainWitnesses}. */
export interface DrainWitnessOptions {
  /** Longest wait for every witness to be closed, in ms. @default 120000 */
  watchMs?: number;
  signal?: AbortSignal;
}

/** What one witness saw. */
interface Witness {
  instance: ProbeInstance;
  socket: ProbeSocket;
  notice?: { at: number; frame: Record<string, unknown> };
  close?: { at: number; code: number; reason: string };
}

/**
 * Opens one witness socket on every instance, which stays put when told to reconnect (so that it sees the whole
 * drain), and returns (as `done`) a background task that waits until every witness is closed (or `watchMs` passes) and records
 * one `drain-notice` attempt per witness closed with 1012: the `{"type":"reconnect","reason":"draining",
 * "retry_after_ms"}` notice must have come before the close, with `retry_after_ms` in `[0, 1000]`. A witness that
 * ended otherwise (a kill, a stop) or was never drained is recorded as skipped.
 */
export async function startDrainWitnesses(context: ProbeContext, instances: ProbeInstance[], token: string, options: DrainWitnessOptions = {}): Promise<{ done: Promise<void> }> {
  const witnesses: Witness[] = [];
  for (const instance of instances) {
    const opened = await openProbeSocket({ baseUrl: instance.wsUrl, wsPath: context.wsPath, token, sessionId: conformanceSession("drain") });
    if (!opened.ok) {
      recordAttempt(context, { promise: "drain-notice", form: "setup", path: "none", via: instance.id, holder: instance.id, ok: false, expected: "a witness socket", observed: { ...opened } });
      continue;
    }
    context.keep(opened.socket);
    const witness: Witness = { instance, socket: opened.socket };
    opened.socket.ws.on("message", (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (frame.type === "reconnect" && !witness.notice) witness.notice = { at: Date.now(), frame };
    });
    opened.socket.ws.once("close", (code, reason) => (witness.close = { at: Date.now(), code, reason: reason.toString() }));
    witnesses.push(witness);
  }
  const run = async () => {
    await pollFor(() => (options.signal?.aborted === true || witnesses.every((w) => w.close) ? true : undefined), options.watchMs ?? WATCH_MS, 50);
    for (const w of witnesses) {
      if (!w.close || w.close.code !== DRAIN_CLOSE_CODE) {
        const how = w.close ? `closed with ${w.close.code}, not a drain` : "still open: its instance was never drained";
        context.record({ type: "conformance_skipped", promise: "drain-notice", reason: `witness on ${w.instance.id} ${how}` });
        continue;
      }
      const frame = w.notice?.frame;
      const retry = frame?.retry_after_ms;
      const ok = w.notice !== undefined && w.notice.at <= w.close.at && frame?.reason === "draining" && typeof retry === "number" && retry >= 0 && retry <= MAX_RETRY_AFTER_MS;
      recordAttempt(context, {
        promise: "drain-notice",
        form: "drain_close",
        path: "none",
        via: w.instance.id,
        holder: w.instance.id,
        ok,
        expected: `{"type":"reconnect","reason":"draining","retry_after_ms" in [0, ${MAX_RETRY_AFTER_MS}]} before the close with ${DRAIN_CLOSE_CODE}`,
        observed: { close_code: w.close.code, close_reason: w.close.reason, notice: frame ?? null, notice_before_close_ms: w.notice ? w.close.at - w.notice.at : null },
      });
    }
  };
  // Wrapped: an async function would otherwise wait for the background task itself.
  return { done: run().finally(() => Promise.all(witnesses.map((w) => w.socket.close()))) };
}
