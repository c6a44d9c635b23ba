import type { ProgressInfo, Reporter, RunStartInfo } from "./reporter.js";
import type { CheckResult, PhaseSpan, RunResult } from "./run-result.js";
import { renderSummaryText, visibleText } from "./run-summary.js";

const PLAIN_PROGRESS_EVERY_MS = 5_000;

/** Live progress: one rewritten status line on a terminal, plain timestamped lines otherwise. */
export class ProgressReporter implements Reporter {
  readonly name = "progress";
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lastPlain = 0;
  #statusShown = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true && process.env.CI === undefined;
  }

  #line(text: string): void {
    if (this.#tty && this.#statusShown) this.#out.write("\r\x1b[K");
    this.#statusShown = false;
    this.#out.write(`${new Date().toISOString()} ${text}\n`);
  }

  onRunStart(info: RunStartInfo): void {
    this.#line(`run ${info.runId}: scenario ${info.scenario}, profile ${info.profile}, seed ${info.seed}`);
  }

  onPhase(phase: PhaseSpan): void {
    this.#line(`phase ${phase.name}`);
  }

  onProgress(progress: ProgressInfo): void {
    const instances = Object.entries(progress.connectionsByInstance)
      .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
      .map(([id, n]) => `${id}=${n}`)
      .join(" ");
    const text = `${(progress.elapsedMs / 1_000).toFixed(0).padStart(4)}s  ${progress.phase.padEnd(8)} connected ${progress.connected} [${instances}]  faults: ${progress.activeFaults.join("; ") || "none"}`;
    if (this.#tty) {
      this.#out.write(`\r\x1b[K${text}`);
      this.#statusShown = true;
    } else if (progress.elapsedMs - this.#lastPlain >= PLAIN_PROGRESS_EVERY_MS) {
      this.#lastPlain = progress.elapsedMs;
      this.#line(`progress ${text.trim()}`);
    }
  }

  onCheckResult(check: CheckResult): void {
    this.#line(visibleText(`check ${check.name}: ${check.pass ? "pass" : "FAIL"} ${JSON.stringify(check.actual)}`));
  }

  /** The run's last line, then the summary table: every check and threshold with its verdict and key figure. */
  onRunEnd(result: RunResult): void {
    this.#line(visibleText(`run ${result.run_id} ${result.status} (exit ${result.exit_code}) in ${(result.duration_ms / 1_000).toFixed(1)}s${result.error ? `: ${result.error.message}` : ""}`));
    this.#out.write(renderSummaryText(result));
  }
}
