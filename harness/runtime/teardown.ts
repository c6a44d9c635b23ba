import { createLogger } from "../common/logger.js";
import { HarnessError } from "../errors.js";
import { removeOwnedNetworkSync } from "./network-sweep.js";
import { killOwnedProcessesSync, killOwnedProcessTreesSync } from "./sweep.js";
import { removeOwnedTempDirsSync } from "./temp-dirs.js";

const log = createLogger("harness:teardown");

/** Default deadline of a whole teardown before its watchdog names what is still alive. */
export const TEARDOWN_WATCHDOG_MS = 30_000;

/** One thing to tear down. */
export interface TeardownItem {
  /** Named by the watchdog and in errors, e.g. `gateway gw-2`. */
  name: string;
  stop(): Promise<unknown>;
}

/**
 * Tears down stages in the given order (pass them in reverse of startup order: fleet → faults → gateways →
 * proxies → Redis). Items of one stage stop concurrently. Every error is gathered with Promise.allSettled and
 * thrown at the end as one AggregateError. An unref'd watchdog rejects with `HARNESS_ERR_TEARDOWN_TIMEOUT`,
 * naming whatever is still stopping, if the whole teardown takes longer than `watchdogMs`.
 */
export async function teardownInOrder(stages: TeardownItem[][], watchdogMs: number = TEARDOWN_WATCHDOG_MS): Promise<void> {
  const pending = new Set<string>();
  const errors: unknown[] = [];
  let watchdog: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => {
      const alive = [...pending].join(", ") || "nothing";
      log("watchdog fired", { alive });
      reject(new HarnessError("HARNESS_ERR_TEARDOWN_TIMEOUT", `teardown did not finish within ${watchdogMs}ms; still stopping: ${alive}`));
    }, watchdogMs);
    watchdog.unref();
  });
  timedOut.catch(() => undefined);
  const run = (async () => {
    for (const stage of stages) {
      const results = await Promise.allSettled(
        stage.map(async (item) => {
          pending.add(item.name);
          try {
            await item.stop();
          } finally {
            pending.delete(item.name);
          }
        }),
      );
      results.forEach((result, index) => {
        if (result.status === "rejected") {
          const reason = result.reason as Error;
          errors.push(new Error(`stopping ${stage[index]!.name} failed: ${reason?.message ?? String(reason)}`, { cause: reason }));
        }
      });
    }
  })();
  try {
    await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(watchdog);
  }
  if (errors.length > 0) throw new AggregateError(errors, `teardown: ${errors.length} item(s) failed to stop: ${errors.map((e) => (e as Error).message).join("; ")}`);
}

/** Handle of {@link installShutdownHandlers}. */
export interface ShutdownHandlers extends Disposable {
  /** Aborts (with `HARNESS_ERR_ABORTED`) on the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * Installs the harness's process-level handlers for one run:
 * - first SIGINT/SIGTERM: abort the run so the engine tears down in order and writes its report;
 * - second SIGINT/SIGTERM: SIGKILL every process of the run at once and exit (130 or 143);
 * - `exit` (normal end, uncaught exception): synchronously SIGKILL any process of the run still alive, then remove
 *   the run's network namespaces and host nftables tables (packet faults) and the temporary directories this process
 *   made for its processes (temp-dirs.ts).
 * A crash that skips even the `exit` handler (SIGKILL of the harness) is covered by the sweep at the next start.
 */
export function installShutdownHandlers(runId: string, onFirstSignal?: (signal: NodeJS.Signals) => void): ShutdownHandlers {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received === undefined) {
      received = signal;
      onFirstSignal?.(signal);
      controller.abort(new HarnessError("HARNESS_ERR_ABORTED", `run ${runId} aborted by ${signal}`));
      return;
    }
    const killed = killOwnedProcessesSync(runId);
    process.stderr.write(`\nsecond ${signal}: killed ${killed.length} process(es) of run ${runId}\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  const onExit = () => {
    killOwnedProcessesSync(runId);
    removeOwnedNetworkSync(runId);
    removeOwnedTempDirsSync();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
  const dispose = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
  };
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose,
    [Symbol.dispose]: dispose,
  };
}

/** Exit codes after a signal, as a shell reports a process its default action ended: 128 + the signal's number. */
const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Last-resort cleanup for a process that starts harness processes outside one run's own handlers (a benchmark, a
 * test worker): on SIGINT, SIGTERM or SIGHUP, and at `exit`, synchronously kills every tagged process it owns and
 * those they own in turn (sweep.ts), and removes its network namespaces and nftables tables and its temporary
 * directories. Without it such a process, ended by a signal's default action, runs no `exit` handler, and what it
 * started lives on until the next run's start-up sweep. On a signal it then calls `onSignal` (to say so) and exits
 * with 128 + the signal's number (130, 143, 129), the code the signal itself would have left. Returns a function that
 * removes the handlers.
 */
export function installOwnerCleanup(onSignal?: (signal: keyof typeof SIGNAL_EXIT_CODES, killed: number) => void): () => void {
  const cleanUp = (): number => {
    const killed = killOwnedProcessTreesSync();
    removeOwnedNetworkSync();
    removeOwnedTempDirsSync();
    return killed.length;
  };
  const handlers = Object.keys(SIGNAL_EXIT_CODES).map((name) => {
    const signal = name as keyof typeof SIGNAL_EXIT_CODES;
    const handler = () => {
      const killed = cleanUp();
      onSignal?.(signal, killed);
      process.exit(SIGNAL_EXIT_CODES[signal]);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  process.on("exit", cleanUp);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    process.off("exit", cleanUp);
  };
}
