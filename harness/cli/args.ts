import { parseArgs } from "node:util";
import { integer, usage } from "./flag-values.js";

/** Usage text of `npm run scenario`. */
export const USAGE = `usage: npm run scenario -- <name>... [options]
       npm run scenario -- --list | --version | --help

options:
  --runtime local|containers   where the topology runs (default local)
  --instances N                gateway instances (default: the profile's)
  --clients N                  simulated clients (default: the profile's)
  --duration S                 main hold time under load in seconds (default: the profile's)
  --seed N                     fixes every random choice (default: random, printed)
  --profile ci|release         sizes, durations and thresholds (default ci)
  --registry redis|memory      REGISTRY of the reference gateway (default redis)
  --sut PATH                   JSON definition of another system under test (see README)
  --baseline PATH              a previous run.json to compare with (a regression fails the run)
  --baseline-tolerance R       largest latency and error-rate ratio to the baseline, a number >= 1 (default: the
                               profile's, 1.5)
  --summary PATH               append a Markdown summary of each run to PATH (default: $GITHUB_STEP_SUMMARY if set)
  --out DIR                    reports root (default reports/)
  --screenshot                 also save screenshot.png of index.html (needs /usr/bin/chromium)
  --list                       list scenarios
  --version                    print the harness version
  --help                       this text

exit codes: 0 every check passed, 1 a check or threshold failed, 2 the harness could not run`;

/** Parsed command line. */
export interface CliArgs {
  names: string[];
  list: boolean;
  help: boolean;
  /** `--version`: print the package version and exit 0. */
  version: boolean;
  runtime: "local" | "containers";
  instances?: number;
  clients?: number;
  durationS?: number;
  seed?: number;
  profile: "ci" | "release";
  registry: "redis" | "memory";
  sut?: string;
  baseline?: string;
  /** `--baseline-tolerance`: the latency and error-rate ratio allowed against the baseline (>= 1). */
  baselineTolerance?: number;
  /** `--summary`: file the Markdown summary is appended to. */
  summary?: string;
  out?: string;
  /** Save a full-page PNG of each run's index.html next to it. */
  screenshot: boolean;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw usage(`--${flag} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
  return value as T;
}

/** Parses the CLI's arguments; rejects bad flags with `HARNESS_ERR_USAGE`. */
export function parseCliArgs(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        runtime: { type: "string" },
        instances: { type: "string" },
        clients: { type: "string" },
        duration: { type: "string" },
        seed: { type: "string" },
        profile: { type: "string" },
        registry: { type: "string" },
        sut: { type: "string" },
        baseline: { type: "string" },
        "baseline-tolerance": { type: "string" },
        summary: { type: "string" },
        out: { type: "string" },
        screenshot: { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const v = parsed.values;
  const args: CliArgs = {
    names: parsed.positionals,
    list: v.list === true,
    help: v.help === true,
    screenshot: v.screenshot === true,
    version: v.version === true,
    runtime: oneOf("runtime", v.runtime, ["local", "containers"] as const, "local"),
    profile: oneOf("profile", v.profile, ["ci", "release"] as const, "ci"),
    registry: oneOf("registry", v.registry, ["redis", "memory"] as const, "redis"),
  };
  const instances = integer("instances", v.instances, 1, 32);
  const clients = integer("clients", v.clients, 1, 200_000);
  const durationS = integer("duration", v.duration, 0, 86_400);
  const seed = integer("seed", v.seed, 0, 2 ** 32 - 1);
  if (instances !== undefined) args.instances = instances;
  if (clients !== undefined) args.clients = clients;
  if (durationS !== undefined) args.durationS = durationS;
  if (seed !== undefined) args.seed = seed;
  if (v.sut !== undefined) args.sut = v.sut;
  if (v.baseline !== undefined) args.baseline = v.baseline;
  const tolerance = v["baseline-tolerance"];
  if (tolerance !== undefined) {
    const n = /^\d+(\.\d+)?$/.test(tolerance) ? Number(tolerance) : Number.NaN;
    if (!(n >= 1 && n <= 1_000)) throw usage(`--baseline-tolerance must be a ratio from 1 to 1000, e.g. 1.5 (this run may be 1.5× the baseline's percentiles and error rate); got ${JSON.stringify(tolerance)}`);
    if (v.baseline === undefined) throw usage("--baseline-tolerance needs --baseline PATH (the run.json to compare with)");
    args.baselineTolerance = n;
  }
  if (v.summary !== undefined) {
    if (v.summary.length === 0) throw usage("--summary needs a file path");
    args.summary = v.summary;
  }
  if (v.out !== undefined) args.out = v.out;
  if (!args.list && !args.help && !args.version && args.names.length === 0) throw usage("name at least one scenario, or pass --list");
  return args;
}
