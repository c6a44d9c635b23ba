import { rm } from "node:fs/promises";
import { join } from "node:path";
import { HarnessError } from "../errors.js";
import { listRuns, writeRunsIndex, type RunListing } from "./runs-index.js";

/** Which runs {@link pruneRuns} removes. At least one of `keep` and `olderThanMs` is required. */
export interface PruneRunsOptions {
  /** Keep the newest N runs. With `olderThanMs` too, a run goes only when it is beyond both. */
  keep?: number;
  /** Remove runs that started more than this many ms before `now`. */
  olderThanMs?: number;
  /** List what would go; remove nothing. @default false */
  dryRun?: boolean;
  /** Epoch ms the age is measured from. @default Date.now() */
  now?: number;
}

/** What {@link pruneRuns} did. */
export interface PruneRunsResult {
  removed: RunListing[];
  kept: RunListing[];
  dryRun: boolean;
}

/**
 * Removes old run directories from a reports root, then rewrites its runs index. Only directories directly under
 * `root` that hold a regular run.json are runs (see `listRuns`); any other file or directory is never touched.
 */
export async function pruneRuns(root: string, options: PruneRunsOptions): Promise<PruneRunsResult> {
  const { keep, olderThanMs } = options;
  if (keep === undefined && olderThanMs === undefined) throw new HarnessError("HARNESS_ERR_USAGE", "prune needs --keep N or --older-than DURATION (or both)");
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 0)) throw new HarnessError("HARNESS_ERR_USAGE", `--keep must be a non-negative integer (got ${keep})`);
  if (olderThanMs !== undefined && !(olderThanMs >= 0)) throw new HarnessError("HARNESS_ERR_USAGE", `--older-than must be a non-negative duration (got ${olderThanMs} ms)`);
  const now = options.now ?? Date.now();
  const runs = await listRuns(root);
  const removed: RunListing[] = [];
  const kept: RunListing[] = [];
  runs.forEach((run, index) => {
    const started = Date.parse(run.started_at);
    const beyondKeep = keep === undefined || index >= keep;
    // A start time that does not parse never makes a run "old": only --keep can remove it.
    const old = olderThanMs === undefined || (Number.isFinite(started) && now - started > olderThanMs);
    (beyondKeep && old ? removed : kept).push(run);
  });
  if (!options.dryRun) {
    for (const run of removed) await rm(join(root, run.dir), { recursive: true, force: true });
    await writeRunsIndex(root);
  }
  return { removed, kept, dryRun: options.dryRun === true };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 });

/** Parses a duration such as `90s`, `30m`, `12h`, `7d`, `2w` (or `500ms`) to ms; rejects anything else. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw new HarnessError("HARNESS_ERR_USAGE", `--older-than must be a number with a unit ms, s, m, h, d or w, e.g. 7d (got ${JSON.stringify(text)})`);
  return Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
}
