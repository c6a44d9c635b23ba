/**
 * The containers runtime, unstarted: it validates its options at once (what the runtime refuses is refused before
 * anything starts) but loads testcontainers and {@link StartedContainerRuntime} only in `start()`, so a local run
 * never pays for them.
 */
import { assertContainerOptions, containerRuntimeCapabilities } from "./containers/capabilities.js";
import type { Runtime, RuntimeOptions } from "./runtime.js";
import type { StartedContainerRuntime } from "./started-container-runtime.js";

/** The containers topology, unstarted. */
export class ContainerRuntime implements Runtime {
  readonly kind = "containers" as const;
  readonly capabilities = containerRuntimeCapabilities();
  readonly #options: RuntimeOptions;

  constructor(options: RuntimeOptions) {
    assertContainerOptions(options);
    this.#options = { ...options };
  }

  /** Sweeps dead runs, makes sure the images exist, then starts networks, Redis, the proxy and the gateways. */
  async start(): Promise<StartedContainerRuntime> {
    const { StartedContainerRuntime } = await import("./started-container-runtime.js");
    const started = new StartedContainerRuntime(this.#options);
    try {
      await started.init();
    } catch (error) {
      await started.stop().catch(() => undefined);
      throw error;
    }
    return started;
  }
}
