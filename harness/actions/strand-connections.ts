/**
 * An action (it changes the system under test; observations live in harness/probes/): strands probe connections by
 * cutting them half-open or by SIGKILLing the instance that holds them.
 */
import { randomBytes } from "node:crypto";
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
}

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
}
