/**
 * The one place that maps `--runtime` to an implementation of {@link Runtime}. The engine and the CLI ask here and
 * never name an implementation; a new runtime is a new file plus one entry in {@link RUNTIME_FACTORIES}.
 */
import { HarnessError } from "../errors.js";
import { ContainerRuntime } from "./container-runtime.js";
import { containerRuntimeCapabilities } from "./containers/capabilities.js";
import { localCapabilities, LocalRuntime } from "./local-runtime.js";
import type { RedisMode, Runtime, RuntimeCapabilities, RuntimeKind, RuntimeOptions } from "./runtime.js";

/** Builds an unstarted runtime from its options; throws a `TypeError` for impossible options. */
export type RuntimeFactory = (options: RuntimeOptions) => Runtime;

/** The implementation of each runtime kind; `undefined` while a kind is not available. */
const RUNTIME_FACTORIES: Readonly<Record<RuntimeKind, RuntimeFactory | undefined>> = Object.freeze({
  local: (options: RuntimeOptions) => new LocalRuntime(options),
  containers: (options: RuntimeOptions) => new ContainerRuntime(options),
});

/** Whether `kind` has an implementation in this version. */
export function isRuntimeAvailable(kind: RuntimeKind): boolean {
  return RUNTIME_FACTORIES[kind] !== undefined;
}

/** Throws `HARNESS_ERR_UNSUPPORTED`, saying what to use instead, unless `kind` has an implementation. */
export function assertRuntimeAvailable(kind: RuntimeKind): void {
  if (!isRuntimeAvailable(kind)) {
    throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `--runtime ${kind} is not yet available; use --runtime local (the default)`);
  }
}

/** An unstarted runtime of `kind`; rejects a kind without an implementation with `HARNESS_ERR_UNSUPPORTED`. */
export function createRuntime(kind: RuntimeKind, options: RuntimeOptions): Runtime {
  assertRuntimeAvailable(kind);
  return RUNTIME_FACTORIES[kind]!(options);
}

/**
 * What a runtime of `kind` will be able to do with Redis in `redis` mode, known before it is built: a seeded
 * schedule (the `chaos` scenario) leaves out the faults it cannot run.
 */
export function runtimeCapabilities(kind: RuntimeKind, redis: RedisMode): RuntimeCapabilities {
  return kind === "containers" ? containerRuntimeCapabilities() : localCapabilities(redis);
}
