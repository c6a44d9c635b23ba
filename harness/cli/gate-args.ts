import { parseArgs } from "node:util";
import { integer, usage } from "./flag-values.js";
import { DEFAULT_GATE_JOBS, MAX_GATE_JOBS } from "../gate/gate-runner.js";

/** Usage text of `npm run gate`. */
export const GATE_USAGE = `usage: npm run gate -- [options]

Runs every scenario's ci profile against the unbroken reference gateway, then the sensitivity matrix: every
negative-control defect (src/gateway/failpoints.ts) against the scenarios, stopping at the first that catches it.
Writes reports/gate-<id>/{gate.json,gate.md,junit.xml} and each run's report under runs/.

options:
  --seed N               seed of every run (default: random, printed)
  --defects a,b          only these defects (default: every one)
  --scenarios x,y        only these scenarios (default: every one)
  --full                 run every scenario against every defect (no stop at the first catch)
  --no-reference         skip the unbroken runs (the matrix alone)
  --jobs N               scenario runs at once, 1..${MAX_GATE_JOBS} (default ${DEFAULT_GATE_JOBS}; a run mostly waits on its faults, so two
                         keep a quiet 2-core machine at a load of about 2; use 1 when other work shares the cores)
  --matrix-duration S    main hold time of the matrix runs in seconds (default: each profile's)
  --out DIR              reports root (default reports/)
  --help                 this text

exit codes: 0 the unbroken gateway passed everything and every defect was caught; 1 a scenario failed the
unbroken gateway or a defect escaped every scenario; 2 the harness could not run (or was interrupted)`;

/** Parsed `npm run gate` command line. */
export interface GateCliArgs {
  help: boolean;
  seed?: number;
  /** `--defects`: names, or every defect when absent. */
  defects?: string[];
  /** `--scenarios`: names, or every scenario when absent. */
  scenarios?: string[];
  full: boolean;
  reference: boolean;
  jobs: number;
  matrixDurationS?: number;
  out?: string;
}

function list(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(",").map((name) => name.trim());
  if (names.some((name) => name.length === 0)) throw usage(`--${flag} must be a comma-separated list of names (got ${JSON.stringify(value)})`);
  return [...new Set(names)];
}

/** Parses `npm run gate`'s arguments; rejects bad flags with `HARNESS_ERR_USAGE` (names are checked by the gate). */
export function parseGateArgs(argv: string[]): GateCliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        seed: { type: "string" },
        defects: { type: "string" },
        scenarios: { type: "string" },
        full: { type: "boolean" },
        "no-reference": { type: "boolean" },
        jobs: { type: "string" },
        "matrix-duration": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const v = parsed.values;
  const args: GateCliArgs = { help: v.help === true, full: v.full === true, reference: v["no-reference"] !== true, jobs: integer("jobs", v.jobs, 1, MAX_GATE_JOBS) ?? DEFAULT_GATE_JOBS };
  const seed = integer("seed", v.seed, 0, 2 ** 32 - 1);
  const matrixDurationS = integer("matrix-duration", v["matrix-duration"], 0, 3_600);
  const defects = list("defects", v.defects);
  const scenarios = list("scenarios", v.scenarios);
  if (seed !== undefined) args.seed = seed;
  if (matrixDurationS !== undefined) args.matrixDurationS = matrixDurationS;
  if (defects !== undefined) args.defects = defects;
  if (scenarios !== undefined) args.scenarios = scenarios;
  if (v.out !== undefined) {
    if (v.out.length === 0) throw usage("--out needs a directory");
    args.out = v.out;
  }
  return args;
}
