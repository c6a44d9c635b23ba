import { parseArgs } from "node:util";
import { usage } from "./flag-values.js";
import { parseDurationMs } from "../report/prune-runs.js";

/** Usage text of `npm run reports`. */
export const REPORTS_USAGE = `usage: npm run reports -- prune (--keep N | --older-than DURATION) [--dry-run] [--dir DIR]
       npm run reports -- index [--dir DIR]

commands:
  prune                 remove old run directories (only directories holding a run.json), then rewrite index.html
  index                 rewrite DIR/index.html, the list of every run

options:
  --keep N              keep the newest N runs
  --older-than D        remove runs started more than D ago (e.g. 90m, 12h, 7d, 2w); with --keep, a run
                        goes only when it is beyond both
  --dry-run             print what would be removed, remove nothing
  --dir DIR             reports root (default reports/)
  --help                this text

exit codes: 0 done, 2 bad flags or an unreadable reports root`;

/** Parsed `npm run reports` command line. */
export type ReportsArgs =
  | { command: "help" }
  | { command: "index"; dir?: string }
  | { command: "prune"; dir?: string; keep?: number; olderThanMs?: number; dryRun: boolean };

/** Parses `npm run reports` arguments; rejects bad flags with `HARNESS_ERR_USAGE`. */
export function parseReportsArgs(argv: string[]): ReportsArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        keep: { type: "string" },
        "older-than": { type: "string" },
        "dry-run": { type: "boolean" },
        dir: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { command: "help" };
  const [command, ...extra] = parsed.positionals;
  if (extra.length > 0) throw usage(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (v.dir !== undefined && v.dir.length === 0) throw usage("--dir needs a directory");
  const dir = v.dir !== undefined ? { dir: v.dir } : {};
  if (command === "index") {
    if (v.keep !== undefined || v["older-than"] !== undefined || v["dry-run"]) throw usage("index takes only --dir");
    return { command: "index", ...dir };
  }
  if (command !== "prune") throw usage(command === undefined ? "name a command: prune or index" : `unknown command ${JSON.stringify(command)} (commands: prune, index)`);
  const args: ReportsArgs = { command: "prune", dryRun: v["dry-run"] === true, ...dir };
  if (v.keep !== undefined) {
    if (!/^\d+$/.test(v.keep)) throw usage(`--keep must be a non-negative integer (got ${JSON.stringify(v.keep)})`);
    args.keep = Number(v.keep);
  }
  if (v["older-than"] !== undefined) args.olderThanMs = parseDurationMs(v["older-than"]);
  if (args.keep === undefined && args.olderThanMs === undefined) throw usage("prune needs --keep N or --older-than DURATION (or both)");
  return args;
}
