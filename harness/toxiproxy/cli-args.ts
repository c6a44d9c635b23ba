/**
 * Command-line flags of `npm run toxiproxy`, as the real toxiproxy-server takes them: Go's flag syntax (`-port 8474`,
 * `-port=8474`) and the double-dash forms (`--port 8474`).
 */
import { TOXIPROXY_VERSION } from "./toxiproxy-api.js";

/** Parsed flags. */
export interface ToxiproxyCliArgs {
  host: string;
  port: number;
  config?: string;
  seed?: number;
  proxyMetrics: boolean;
  runtimeMetrics: boolean;
  version: boolean;
  help: boolean;
}

/** Bad flags: the CLI prints the message and the usage, and exits 2. */
export class CliUsageError extends Error {
  override readonly name: string = "CliUsageError";
  readonly code = "HARNESS_ERR_USAGE";
}

/** The usage text printed on `--help` and on a bad flag. */
export const USAGE = `usage: npm run toxiproxy -- [flags]   (Toxiproxy ${TOXIPROXY_VERSION}-compatible server)
  --host HOST         API address (default "localhost")
  --port PORT         API port (default 8474)
  --config FILE       JSON file of proxies to create at startup (same shape as POST /populate)
  --seed N            seed of the random draws (toxicity, jitter, slicer)
  --proxy-metrics     serve proxy byte counters on GET /metrics
  --runtime-metrics   serve process metrics on GET /metrics
  --version           print the version and exit
Single-dash forms (-host, -port=8474, ...) are accepted as by the Go server.
`;

const VALUE_FLAGS = new Set(["host", "port", "config", "seed"]);
const BOOL_FLAGS = new Set(["proxy-metrics", "runtime-metrics", "version", "help", "h"]);

/** Parses `argv` (without node and script); throws {@link CliUsageError} on anything unknown or malformed. */
export function parseToxiproxyArgs(argv: readonly string[]): ToxiproxyCliArgs {
  const out: ToxiproxyCliArgs = { host: "localhost", port: 8474, proxyMetrics: false, runtimeMetrics: false, version: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new CliUsageError(`unexpected argument: ${arg}`);
    const name = match[1]!;
    let value = match[2];
    if (BOOL_FLAGS.has(name)) {
      const on = value === undefined || value === "true" || value === "1";
      if (value !== undefined && !on && value !== "false" && value !== "0") {
        throw new CliUsageError(`invalid boolean value "${value}" for -${name}`);
      }
      if (name === "proxy-metrics") out.proxyMetrics = on;
      else if (name === "runtime-metrics") out.runtimeMetrics = on;
      else if (name === "version") out.version = on;
      else out.help = on;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new CliUsageError(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new CliUsageError(`flag needs an argument: -${name}`);
    }
    if (name === "host") out.host = value;
    else if (name === "config") out.config = value;
    else {
      const number = /^-?[0-9]+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(number)) throw new CliUsageError(`invalid value "${value}" for flag -${name}: not an integer`);
      if (name === "port") {
        if (number < 0 || number > 65_535) throw new CliUsageError(`invalid value "${value}" for flag -port: must be 0..65535`);
        out.port = number;
      } else out.seed = number;
    }
  }
  return out;
}
