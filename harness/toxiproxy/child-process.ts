/**
 * The Toxiproxy-compatible server as a child process of the local runtime (harness/runtime/toxiproxy-process.ts),
 * so that the proxies between the gateways and Redis, and between the fleet and the gateways where a run proxies
 * them, never wait on the harness's own event loop (its recorder, probes, state audit and garbage collection).
 *
 * Argument: the host to listen on (the API on a port of its own choice). Talks to its parent over IPC only
 * ({@link ProxyChildMessage}): `listening` once the API is up, `stall` for every stall of its own event loop, `fatal`
 * before it exits on an error. It stops its server and exits when the IPC channel closes: the parent stopped it,
 * exited or crashed, so it never outlives the run that started it.
 */
import { watchLoopStalls } from "../recorder/loop-stalls.js";
import { ToxiproxyServer } from "./toxiproxy-server.js";

/** What the child tells its parent. */
export type ProxyChildMessage =
  | { type: "listening"; url: string }
  | { type: "stall"; from: number; duration_ms: number }
  | { type: "fatal"; message: string; code?: string };

const send = (message: ProxyChildMessage, then?: () => void): void => {
  if (process.connected) process.send?.(message, undefined, {}, then ? () => then() : undefined);
  else then?.();
};
const fail = (error: unknown) => {
  const code = (error as { code?: unknown } | undefined)?.code;
  send({ type: "fatal", message: (error as Error)?.message ?? String(error), ...(typeof code === "string" ? { code } : {}) }, () => process.exit(1));
};
process.on("uncaughtException", fail);

// No top-level await: the harness runs this module as a classic script (../common/bundle.ts).
new ToxiproxyServer({ host: process.argv[2] ?? "127.0.0.1", port: 0 }).start().then((server) => {
  let stopping = false;
  process.on("disconnect", () => {
    if (stopping) return;
    stopping = true;
    void server.stop().finally(() => process.exit(0));
  });
  watchLoopStalls((from, durationMs) => send({ type: "stall", from, duration_ms: durationMs }));
  send({ type: "listening", url: server.url });
}).catch(fail);
