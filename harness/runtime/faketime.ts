import { existsSync } from "node:fs";
import { HarnessError } from "../errors.js";

/** Debian's libfaketime (package `faketime`), preloaded into a skewed instance. */
export const LIBFAKETIME_PATH = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/**
 * The environment that runs a process `offsetMs` ahead (positive) or behind (negative) on the wall clock, with
 * libfaketime: `Date.now()` and `new Date()` are shifted; the monotonic clocks (`performance.now()`, timers) are not
 * (`FAKETIME_DONT_FAKE_MONOTONIC`), so the process's own timers keep their real periods and only its idea of the
 * time of day is wrong, as with a host whose NTP is broken. Node 20 honours it (measured: a process started with
 * `FAKETIME=+60s` reads `Date.now()` 60 s ahead; its 200 ms timers still fire after 200 ms).
 * Throws `HARNESS_ERR_UNSUPPORTED` when libfaketime is not installed.
 */
export function faketimeEnv(offsetMs: number): Record<string, string> {
  if (!existsSync(LIBFAKETIME_PATH)) {
    throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `a clock skew needs libfaketime at ${LIBFAKETIME_PATH}: install Debian's faketime package (apt-get install -y faketime)`);
  }
  return faketimeVars(offsetMs);
}

/**
 * The variables of {@link faketimeEnv} without the check that the library is on this host: for a process that runs
 * elsewhere with the library at the same path (the gateway image carries the host's copy).
 */
export function faketimeVars(offsetMs: number): Record<string, string> {
  const seconds = (Math.abs(offsetMs) / 1_000).toFixed(3);
  return {
    LD_PRELOAD: LIBFAKETIME_PATH,
    FAKETIME: `${offsetMs < 0 ? "-" : "+"}${seconds}`,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    FAKETIME_DONT_RESET: "1",
  };
}
