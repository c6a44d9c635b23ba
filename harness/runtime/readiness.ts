import { httpRequest, requestErrorName } from "../common/http-request.js";
import { retryUntil } from "../common/retry.js";
import { HarnessError } from "../errors.js";

const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 25;

/** Outcome of one readiness probe. */
export interface ProbeResult {
  /** HTTP status, or 0 when the request failed (refused, timed out). */
  status: number;
  /** The error text when the request failed. */
  error?: string;
}

/** One GET of `url` with a short timeout; never throws. */
export async function probeHttp(url: string, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  try {
    return { status: (await httpRequest(url, { timeoutMs })).status };
  } catch (error) {
    return { status: 0, error: requestErrorName(error) };
  }
}

/** Options of {@link waitForReady}. */
export interface WaitForReadyOptions {
  /** Probe URL, e.g. `http://127.0.0.1:PORT/readyz`. */
  url: string;
  /** Deadline in ms. */
  timeoutMs: number;
  /** Name used in the error message, e.g. `gw-2`. */
  name: string;
  /** Aborts the wait (e.g. when the process exits); the wait rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls `url` until it answers 200 or the deadline passes: never a fixed sleep. Rejects with
 * `HARNESS_ERR_INSTANCE_START_TIMEOUT` naming the last status seen.
 */
export async function waitForReady(options: WaitForReadyOptions): Promise<void> {
  await retryUntil(
    () => probeHttp(options.url),
    (result) => result.status === 200,
    (last) =>
      new HarnessError(
        "HARNESS_ERR_INSTANCE_START_TIMEOUT",
        `instance ${options.name} not ready after ${options.timeoutMs}ms (GET ${options.url} → ${last.value ? last.value.status || last.value.error : String(last.error)}); see its output above or raise startupTimeoutMs`,
      ),
    { timeoutMs: options.timeoutMs, intervalMs: PROBE_INTERVAL_MS, ...(options.signal ? { signal: options.signal } : {}) },
  );
}
