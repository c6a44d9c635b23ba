/**
 * An action (it changes the system under test; observations live in harness/probes/): strands probe connections by
 * cutting them half-open or by SIGKILLing the instance that holds them.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { openProbeSocket, tenantToken } from "../probes/probe-io.js";
import type { ProbeContext } from "../probes/probe-context.js";

/** How stranded connections vanish. */
export type StrandMode =
  /** The client goes silent without a close frame or FIN (half-open): the gateway must notice and drop the record. */
  | "cut"
  /** The instance holding them is SIGKILLed and stays down: survivors or the TTL must remove the records. */
  | "kill";

/** Options of {@link strandConnections}. */
export interface StrandConnectionsOptions {
  /** Probe connections opened and stranded. */
  count: number;
  how: StrandMode;
  /** For `kill`: SIGKILLs the instance through the fault runner (so it is an interval on the timeline). */
  kill?: (instanceId: string) => Promise<unknown>;
  /**
   * For `kill`: how long to watch the registry for the stranded records to go, recording a `stranded_gone` event
   * for each as it does (so `ttl-expiry` can tell reaping from the TTL fallback, which leaves no trace by the end
   * of the run). The step returns when every record is gone or this has passed. @default 0 (no watch)
   */
  watchMs?: number;
}

/** How often the kill watch reads the registry: a tenth of the shortest reaping bound (about 1.7 s in ci). */
const WATCH_INTERVAL_MS = 100;

/**
 * Opens `count` probe connections (a tenant and sessions of their own, so no fleet client knows them) and makes
 * them vanish without unregistering: `cut` spreads them over the live instances and cuts them client-side;
 * `kill` opens them all on one seeded instance and SIGKILLs it. Each is recorded as `stranded`
 * (`websocket_id`, `session_id`, `instance_id`, `how`, `t` = when it vanished); `ttl-expiry` checks that their
 * records are gone in time.
 */
export async function strandConnections(context: ProbeContext, options: StrandConnectionsOptions): Promise<void> {
  const token = tenantToken(context.authSecret, `probe-${context.runId}`.slice(0, 128));
  const live = context.liveInstances();
  const victim = context.random.pick(live);
  const opened = await Promise.all(
    Array.from({ length: options.count }, async (_, i) => {
      const instance = options.how === "kill" ? victim : live[i % live.length]!;
      const result = await openProbeSocket({ baseUrl: instance.wsUrl, wsPath: context.wsPath, token, sessionId: `probe-strand-${randomBytes(4).toString("hex")}` });
      if (!result.ok) context.record({ type: "strand_connect_failed", via: instance.id, status: result.status ?? null, error: result.error ?? null });
      return result.ok ? result : undefined;
    }),
  );
  const sockets = opened.filter((o) => o !== undefined);
  for (const { socket } of sockets) context.keep(socket);
  if (options.how === "cut") for (const { socket } of sockets) socket.cut();
  else if (sockets.length > 0) {
    if (!options.kill) throw new TypeError("strandConnections: how \"kill\" needs a kill callback");
    await options.kill(victim.id);
  }
  const t = Date.now();
  for (const { welcome } of sockets) {
    context.record({ type: "stranded", t, how: options.how, websocket_id: welcome.websocket_id, session_id: welcome.session_id, instance_id: welcome.instance_id });
  }
  if (options.how === "kill" && (options.watchMs ?? 0) > 0) await watchGone(context, sockets.map((s) => s.welcome), t + options.watchMs!);
}

/** Records `stranded_gone` (`t` = the first read that no longer holds the record) for each record gone before `until`. */
async function watchGone(context: ProbeContext, stranded: { websocket_id: string; session_id: string }[], until: number): Promise<void> {
  let left = stranded;
  while (left.length > 0 && Date.now() < until) {
    await delay(WATCH_INTERVAL_MS, undefined, context.signal ? { signal: context.signal } : {});
    let state;
    try {
      state = await context.registry.read();
    } catch {
      continue;
    }
    const present = new Set(state.records.map((r) => `${r.session_id}/${r.websocket_id}`));
    const gone = left.filter((s) => !present.has(`${s.session_id}/${s.websocket_id}`));
    for (const s of gone) context.record({ type: "stranded_gone", t: state.t, how: "kill", websocket_id: s.websocket_id, session_id: s.session_id });
    left = left.filter((s) => present.has(`${s.session_id}/${s.websocket_id}`));
  }
}
