/** The harness CLI (`npm run scenario`) as a real child process, for tests of its exit codes, reports and cleanup. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { onTestFinished } from "vitest";
import type { RunResult } from "../../harness/report/run-result.js";
import { REPO_ROOT } from "../../harness/runtime/sut.js";
import { isProcessAlive, sweepOrphans } from "../../harness/runtime/sweep.js";

/** A started CLI process with its output so far. */
export interface Cli {
  child: ChildProcess;
  /** The report directory it writes into (`--out`), removed when the test finishes. */
  out: string;
  /** `GITHUB_STEP_SUMMARY` of the process: where it appends its Markdown summary, as on GitHub Actions. */
  stepSummary: string;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * Starts `harness/cli/main.ts <args> --out <temporary directory>` with `CI=1` and `GITHUB_STEP_SUMMARY` in a
 * temporary directory. When the test finishes, pass or fail,
 * a CLI still running is SIGKILLed and the orphan sweep removes whatever it left.
 */
export async function startCli(args: string[]): Promise<Cli> {
  const out = await mkdtemp(join(tmpdir(), "traffic-cop-reports-"));
  onTestFinished(() => rm(out, { recursive: true, force: true }));
  const stepSummary = join(await mkdtemp(join(tmpdir(), "traffic-cop-summary-")), "step-summary.md");
  onTestFinished(() => rm(dirname(stepSummary), { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "harness/cli/main.ts", ...args, "--out", out], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1", GITHUB_STEP_SUMMARY: stepSummary },
  });
  onTestFinished(() => {
    if (child.pid !== undefined && isProcessAlive(child.pid)) child.kill("SIGKILL");
    sweepOrphans();
  });
  let stdout = "";
  let stderr = "";
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, out, stepSummary, stdout: () => stdout, stderr: () => stderr, output: () => output, exited };
}

/** Runs the CLI to its end; see {@link startCli}. */
export async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; out: string; stepSummary: string }> {
  const cli = await startCli(args);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr(), out: cli.out, stepSummary: cli.stepSummary };
}

/** The one run a CLI wrote into `out`: its directory, run.json and the file names in it (sorted). */
export async function readRun(out: string): Promise<{ dir: string; run: RunResult; files: string[] }> {
  // The reports root also holds index.html, the runs index: the run is the one directory.
  const [runDir] = (await readdir(out, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const dir = join(out, runDir!);
  return { dir, run: JSON.parse(await readFile(join(dir, "run.json"), "utf8")) as RunResult, files: (await readdir(dir)).sort() };
}
