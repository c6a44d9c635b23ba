/**
 * `npm run toxiproxy -- --host 127.0.0.1 --port 8474 [--config FILE] [--seed N] [--proxy-metrics]
 * [--runtime-metrics] [--version]`: the Toxiproxy-compatible server in the foreground. Prints one JSON line with
 * `"event":"listening"` once the API is up; SIGINT/SIGTERM stop everything and exit 0; bad flags exit 2.
 */
import { readFile } from "node:fs/promises";
import { CliUsageError, USAGE, parseToxiproxyArgs, type ToxiproxyCliArgs } from "./cli-args.js";
import { TOXIPROXY_VERSION } from "./toxiproxy-api.js";
import { ToxiproxyServer } from "./toxiproxy-server.js";

/** How long the start-up `--config` may take to apply through the server's own API. */
const POPULATE_TIMEOUT_MS = 10_000;

function log(stream: NodeJS.WriteStream, record: Record<string, unknown>): void {
  stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
}

let args: ToxiproxyCliArgs;
try {
  args = parseToxiproxyArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof CliUsageError)) throw error;
  process.stderr.write(`${error.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.version) {
  process.stdout.write(`toxiproxy-server version ${TOXIPROXY_VERSION}\n`);
  process.exit(0);
}

const unstarted = new ToxiproxyServer({
  host: args.host,
  port: args.port,
  proxyMetrics: args.proxyMetrics,
  runtimeMetrics: args.runtimeMetrics,
  ...(args.seed === undefined ? {} : { seed: args.seed }),
});
let server;
try {
  server = await unstarted.start();
} catch (error) {
  log(process.stderr, { level: "error", event: "start_failed", code: (error as { code?: string }).code, message: (error as Error).message });
  process.exit(1);
}
const started = server;

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(process.stderr, { level: "info", event: "stopping", signal });
    void started.stop().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  });
}

if (args.config !== undefined) {
  // As the real server: a config that cannot be read or applied is logged, and the server keeps running.
  let body: string | undefined;
  try {
    body = await readFile(args.config, "utf8");
  } catch (error) {
    log(process.stderr, { level: "error", event: "config_unreadable", config: args.config, message: (error as Error).message });
  }
  if (body !== undefined) {
    try {
      // Its own API in this process: the bound only keeps a server that stopped answering from never saying `listening`.
      const response = await fetch(`${started.url}/populate`, { method: "POST", body, headers: { "Content-Type": "application/json" }, signal: AbortSignal.timeout(POPULATE_TIMEOUT_MS) });
      const reply = (await response.json()) as { proxies?: unknown[]; error?: string };
      if (response.ok) log(process.stderr, { level: "info", event: "populated", config: args.config, proxies: reply.proxies?.length ?? 0 });
      else log(process.stderr, { level: "error", event: "populate_failed", config: args.config, status: response.status, message: reply.error });
    } catch (error) {
      log(process.stderr, { level: "error", event: "populate_failed", config: args.config, message: (error as Error).message });
    }
  }
}

log(process.stdout, { event: "listening", host: started.host, port: started.port, url: started.url, version: TOXIPROXY_VERSION, seed: unstarted.options.seed });
