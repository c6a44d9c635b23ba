/** Stable codes of the harness's errors. Tests and reports branch on these, never on message text. */
export type HarnessErrorCode =
  | "HARNESS_ERR_REDIS_SERVER_MISSING"
  | "HARNESS_ERR_REDIS_START_TIMEOUT"
  | "HARNESS_ERR_REDIS_CLUSTER_CREATE"
  | "HARNESS_ERR_PROCESS_EXITED"
  | "HARNESS_ERR_INVALID_STATE";

/** Base class of every error the harness throws. `code` is stable; `message` says what happened and how to fix it. */
export class HarnessError extends Error {
  override readonly name: string = "HarnessError";
  readonly code: HarnessErrorCode;

  constructor(code: HarnessErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
