import type { Runtime, RuntimeOptions, StartedRuntime } from "../runtime.js";
import { assertContainerOptions, CONTAINER_RUNTIME_CAPABILITIES } from "./capabilities.js";

/**
 * The containers runtime as a runtime factory hands it out: it validates its options at once (what the
 * runtime refuses is refused before anything starts) but loads testcontainers and `ContainerRuntime` only in
 * `start()`, so a local run never pays for them. `createRuntime("containers", options)` can return this.
 */
export class DeferredContainerRuntime implements Runtime {
  readonly kind = "containers" as const;
  readonly capabilities = CONTAINER_RUNTIME_CAPABILITIES;
  readonly #options: RuntimeOptions;

  constructor(options: RuntimeOptions) {
    assertContainerOptions(options);
    this.#options = { ...options };
  }

  async start(): Promise<StartedRuntime> {
    const { ContainerRuntime } = await import("../container-runtime.js");
    return new ContainerRuntime(this.#options).start();
  }
}
