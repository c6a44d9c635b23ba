/**
 * `npm run scenario -- <name>... [options]`: runs scenarios and writes reports/<run-id>/{run.json,index.html,junit.xml}.
 * Exit code: 0 every check passed, 1 a check or threshold failed, 2 the harness itself could not run.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { HarnessError } from "../errors.js";
import { ProgressReporter } from "../report/progress-reporter.js";
import type { Reporter } from "../report/reporter.js";
import { MarkdownSummaryReporter } from "../report/run-summary.js";
import { screenshotReport } from "../report/screenshot-report.js";
import { assertRuntimeAvailable } from "../runtime/create-runtime.js";
import { loadSutFile } from "../runtime/sut.js";
import { installShutdownHandlers } from "../runtime/teardown.js";
import { runScenario } from "../scenario/engine.js";
import { parseCliArgs, USAGE } from "./args.js";
import { listScenarioNames, loadScenario } from "./scenarios.js";

function fail(error: unknown, showUsage: boolean): number {
  const code = (error as { code?: string }).code;
  process.stderr.write(`error${code ? ` ${code}` : ""}: ${(error as Error).message ?? String(error)}\n`);
  if (showUsage) process.stderr.write(`\n${USAGE}\n`);
  return 2;
}

/** The `version` of the harness's package.json. */
async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return String(pkg.version);
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv);
  } catch (error) {
    return fail(error, true);
  }
  if (args.version) {
    process.stdout.write(`${await packageVersion()}\n`);
    return 0;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.list) {
    for (const name of await listScenarioNames()) {
      try {
        const scenario = await loadScenario(name);
        process.stdout.write(`${name.padEnd(24)} ${scenario.description}\n`);
      } catch (error) {
        process.stdout.write(`${name.padEnd(24)} (broken: ${(error as Error).message})\n`);
      }
    }
    return 0;
  }
  try {
    assertRuntimeAvailable(args.runtime);
  } catch (error) {
    return fail(error, false);
  }
  let scenarios;
  let sut;
  try {
    scenarios = await Promise.all(args.names.map((name) => loadScenario(name)));
    if (args.sut) sut = await loadSutFile(args.sut);
    if (args.baseline) await access(args.baseline).catch(() => {
      throw new HarnessError("HARNESS_ERR_USAGE", `--baseline ${args.baseline}: no such file`);
    });
  } catch (error) {
    return fail(error, (error as { code?: string }).code === "HARNESS_ERR_USAGE");
  }
  let exitCode = 0;
  const paths: string[] = [];
  // GitHub Actions shows this file on the run's page; --summary names one explicitly (either, or both, once each).
  const summaryFiles = new Set([args.summary, process.env.GITHUB_STEP_SUMMARY].filter((path): path is string => typeof path === "string" && path.length > 0));
  const reporters = (): Reporter[] => [new ProgressReporter(), ...[...summaryFiles].map((path) => new MarkdownSummaryReporter(path))];
  for (const scenario of scenarios) {
    const runId = `${scenario.name}-${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z").replace("T", "-")}-${Math.random().toString(16).slice(2, 6)}`;
    const handlers = installShutdownHandlers(runId, (signal) => process.stderr.write(`\n${signal}: tearing down run ${runId} (again to force)\n`));
    try {
      const { result, reportDir } = await runScenario({
        scenario,
        runId,
        profile: args.profile,
        registry: args.registry,
        runtime: args.runtime,
        signal: handlers.signal,
        reporters: reporters(),
        ...(args.seed !== undefined ? { seed: args.seed } : {}),
        ...(args.instances !== undefined ? { instances: args.instances } : {}),
        ...(args.clients !== undefined ? { clients: args.clients } : {}),
        ...(args.durationS !== undefined ? { durationS: args.durationS } : {}),
        ...(sut ? { sut } : {}),
        ...(args.baseline ? { baseline: args.baseline } : {}),
        ...(args.baselineTolerance !== undefined ? { baselineTolerance: args.baselineTolerance } : {}),
        ...(args.out ? { outDir: args.out } : {}),
      });
      if (result.error?.code === "HARNESS_ERR_REDIS_SERVER_MISSING" || result.error?.code === "HARNESS_ERR_DOCKER_UNAVAILABLE") process.stderr.write(`${result.error.message}\n`);
      process.stdout.write(`${scenario.name}: ${result.status}, seed ${result.seed}\n`);
      exitCode = Math.max(exitCode, result.exit_code);
      paths.push(reportDir);
      if (args.screenshot) await saveScreenshot(reportDir);
      if (handlers.received) break;
    } finally {
      handlers.dispose();
    }
  }
  for (const path of paths) process.stdout.write(`report: ${path}\n`);
  return exitCode;
}

/** `--screenshot`: a PNG next to the report; without Chromium only a warning, the run's verdict stays as it is. */
async function saveScreenshot(reportDir: string): Promise<void> {
  try {
    const png = await screenshotReport(join(reportDir, "index.html"), join(reportDir, "screenshot.png"));
    process.stdout.write(`screenshot: ${png}\n`);
  } catch (error) {
    process.stderr.write(`warning: --screenshot: no screenshot of ${join(reportDir, "index.html")}: ${(error as Error).message} (the run's verdict is unchanged)\n`);
  }
}

process.exitCode = await main(process.argv.slice(2));
