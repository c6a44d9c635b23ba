/**
 * `npm run reports -- <command>`: housekeeping of the reports root (`reports/` by default).
 * `prune` removes old run directories, `index` rewrites the runs index. Exit code 0 done, 2 bad flags or I/O error.
 */
import { join, resolve } from "node:path";
import { pruneRuns } from "../report/prune-runs.js";
import { writeRunsIndex } from "../report/runs-index.js";
import { REPO_ROOT } from "../runtime/sut.js";
import { parseReportsArgs, REPORTS_USAGE } from "./reports-args.js";

function fail(error: unknown): number {
  const code = (error as { code?: string }).code;
  process.stderr.write(`error${code ? ` ${code}` : ""}: ${(error as Error).message ?? String(error)}\n`);
  if (code === "HARNESS_ERR_USAGE") process.stderr.write(`\n${REPORTS_USAGE}\n`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  try {
    const args = parseReportsArgs(argv);
    if (args.command === "help") {
      process.stdout.write(`${REPORTS_USAGE}\n`);
      return 0;
    }
    const root = resolve(args.dir ?? join(REPO_ROOT, "reports"));
    if (args.command === "index") {
      process.stdout.write(`${await writeRunsIndex(root)}\n`);
      return 0;
    }
    const result = await pruneRuns(root, { dryRun: args.dryRun, ...(args.keep !== undefined ? { keep: args.keep } : {}), ...(args.olderThanMs !== undefined ? { olderThanMs: args.olderThanMs } : {}) });
    const verb = result.dryRun ? "would remove" : "removed";
    for (const run of result.removed) process.stdout.write(`${verb} ${join(root, run.dir)}\n`);
    process.stdout.write(`${verb} ${result.removed.length} run${result.removed.length === 1 ? "" : "s"}, kept ${result.kept.length}\n`);
    return 0;
  } catch (error) {
    return fail(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
