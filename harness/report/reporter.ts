import type { CheckResult, PhaseSpan, RunResult } from "./run-result.js";

/** What a run start looks like to a reporter. */
export interface RunStartInfo {
  runId: string;
  scenario: string;
  seed: number;
  profile: string;
  /** Directory the report files go to. */
  outDir: string;
}

/** Live progress, once a second. */
export interface ProgressInfo {
  elapsedMs: number;
  phase: string;
  /** Connected clients per instance, as the fleet sees them. */
  connectionsByInstance: Record<string, number>;
  connected: number;
  activeFaults: string[];
}

/**
 * A reporter: every hook is optional and may be async; the engine awaits each in turn. Reporters that write
 * files do so in `onRunEnd`, from the finished {@link RunResult} alone.
 */
export interface Reporter {
  readonly name: string;
  onRunStart?(info: RunStartInfo): void | Promise<void>;
  onPhase?(phase: PhaseSpan): void | Promise<void>;
  onProgress?(progress: ProgressInfo): void | Promise<void>;
  onStepEnd?(step: { index: number; description: string; durationMs: number }): void | Promise<void>;
  onCheckResult?(check: CheckResult): void | Promise<void>;
  /** `reason` is the run's status. Returns the paths it wrote, if any. */
  onRunEnd?(result: RunResult, reason: RunResult["status"]): void | string[] | Promise<void | string[]>;
}
