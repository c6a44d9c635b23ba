import createDebug from "debug";

/** A namespaced debug logger (`DEBUG=harness:*`), with structured context appended as JSON. */
export interface Logger {
  /** Logs a message with optional structured context, e.g. `{ instance: "gw-2" }`. */
  (message: string, context?: Record<string, unknown>): void;
  /** The namespace, e.g. `harness:runtime`. */
  readonly namespace: string;
  /** A child logger: `harness:runtime` → `harness:runtime:gw-1`. */
  extend(suffix: string): Logger;
}

/** Creates a logger in the `debug` namespace `namespace` (enable with `DEBUG=harness:*`). */
export function createLogger(namespace: string): Logger {
  const debug = createDebug(namespace);
  const log = ((message: string, context?: Record<string, unknown>) => {
    if (!debug.enabled) return;
    if (context === undefined) debug(message);
    else debug("%s %s", message, JSON.stringify(context));
  }) as Logger;
  Object.defineProperty(log, "namespace", { value: namespace });
  log.extend = (suffix: string) => createLogger(`${namespace}:${suffix}`);
  return log;
}
