import { lstat, open, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Reporter } from "./reporter.js";
import type { RunResult } from "./run-result.js";

/** How much of a run.json is read to list it: its scalar head (run.json starts with them; see `runListingFromHead`). */
const HEAD_BYTES = 64 * 1024;
/** A run.json without a readable head is parsed whole only up to this size. */
const MAX_FULL_PARSE_BYTES = 256 * 1024 * 1024;

/** One run directory of the reports root, as the runs index lists it. */
export interface RunListing {
  /** The directory's name under the reports root. */
  dir: string;
  run_id: string;
  scenario: string;
  /** `passed`, `failed`, `error`, `aborted`, or `unreadable` when run.json could not be parsed. */
  status: RunResult["status"] | "unreadable";
  exit_code: number | null;
  seed: number | null;
  profile: string;
  /** ISO start time (from run.json; the directory's mtime when unreadable). */
  started_at: string;
  duration_ms: number | null;
}

const str = (value: unknown, fallback = ""): string => (typeof value === "string" ? value : fallback);
const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * Parses the listing fields from the start of a run.json: the JSON reporter writes the scalar fields (`run_id` ..
 * `profile`) before `config`, so the text up to `,"config":` closed with `}` is a whole JSON object. Reading 64 KiB
 * instead of a file that may be tens of MB keeps rewriting the index cheap after every run.
 */
export function runListingFromHead(dir: string, head: string): RunListing | undefined {
  const end = head.indexOf(',"config":');
  if (end < 0) return undefined;
  try {
    return listing(dir, JSON.parse(`${head.slice(0, end)}}`) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

function listing(dir: string, run: Record<string, unknown>): RunListing {
  const status = str(run.status);
  return {
    dir,
    run_id: str(run.run_id, dir),
    scenario: str(run.scenario, "?"),
    status: status === "passed" || status === "failed" || status === "error" || status === "aborted" ? status : "unreadable",
    exit_code: num(run.exit_code),
    seed: num(run.seed),
    profile: str(run.profile),
    started_at: str(run.started_at),
    duration_ms: num(run.duration_ms),
  };
}

async function readListing(root: string, dir: string): Promise<RunListing | undefined> {
  const file = join(root, dir, "run.json");
  const stat = await lstat(file).catch(() => undefined);
  if (!stat?.isFile()) return undefined;
  const handle = await open(file, "r");
  let head: string;
  try {
    const buffer = Buffer.alloc(Math.min(HEAD_BYTES, stat.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
  const fromHead = runListingFromHead(dir, head);
  if (fromHead) return fromHead;
  if (stat.size <= MAX_FULL_PARSE_BYTES) {
    try {
      return listing(dir, JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>);
    } catch {
      // Unreadable: listed as such below, so a broken run is visible rather than silently missing.
    }
  }
  return { ...listing(dir, {}), started_at: stat.mtime.toISOString() };
}

/**
 * Every run of a reports root, newest first: each directory directly under `root` (not a symbolic link) that holds
 * a regular `run.json`. Nothing else counts as a run.
 */
export async function listRuns(root: string): Promise<RunListing[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const runs = await Promise.all(entries.filter((entry) => entry.isDirectory()).map((entry) => readListing(root, entry.name)));
  return runs.filter((run): run is RunListing => run !== undefined).sort((a, b) => b.started_at.localeCompare(a.started_at) || b.dir.localeCompare(a.dir));
}

function html(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|\p{Cs}/gu, "\uFFFD");
}

function duration(ms: number | null): string {
  if (ms === null) return "–";
  return ms < 60_000 ? `${(ms / 1_000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/**
 * The runs index page: one self-contained HTML file (no script, no network) with a row per run, newest first:
 * verdict, scenario, start time, seed, profile, duration, and a link to the run's own page. All text from run.json
 * is escaped, so a hostile scenario name or run id shows as text.
 */
export function renderRunsIndex(runs: readonly RunListing[]): string {
  const rows = runs.map((run) => {
    const href = `./${encodeURIComponent(run.dir)}/index.html`;
    return `<tr class="${html(run.status)}"><td class="verdict">${html(run.status.toUpperCase())}</td><td>${html(run.scenario)}</td><td>${html(run.started_at.replace("T", " ").replace(/\.\d+Z$/, "Z"))}</td><td class="num">${run.seed ?? "–"}</td><td>${html(run.profile)}</td><td class="num">${duration(run.duration_ms)}</td><td><a href="${html(href)}">${html(run.run_id)}</a></td></tr>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Traffic Cop runs</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.verdict { font-weight: 600; }
tr.passed td.verdict { color: #1a7f37; }
tr.failed td.verdict { color: #cf222e; }
tr.error td.verdict, tr.aborted td.verdict, tr.unreadable td.verdict { color: #9a6700; }
</style>
</head>
<body>
<h1>Traffic Cop runs</h1>
<p>${runs.length} run${runs.length === 1 ? "" : "s"}, newest first. Remove old ones with <code>npm run reports -- prune --keep N</code>.</p>
<table>
<thead><tr><th>verdict</th><th>scenario</th><th>started (UTC)</th><th>seed</th><th>profile</th><th>duration</th><th>run</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</body>
</html>
`;
}

/** Rewrites `<root>/index.html` from the runs in `root` (written aside and renamed, so a reader never sees half). */
export async function writeRunsIndex(root: string): Promise<string> {
  const file = join(root, "index.html");
  const temporary = join(root, `.index.html.${process.pid}.${Date.now()}`);
  await writeFile(temporary, renderRunsIndex(await listRuns(root)));
  await rename(temporary, file);
  return file;
}

/** Rewrites the reports root's runs index after each run (the run directory `dir` is one entry of it). */
export class RunsIndexReporter implements Reporter {
  readonly name = "runs-index";
  readonly #root: string;

  constructor(dir: string) {
    this.#root = dirname(dir);
  }

  async onRunEnd(): Promise<void> {
    await writeRunsIndex(this.#root);
  }
}
