import type { ConnectionRegistry } from "../registry/connection-registry.js";
import type { GatewayMetrics } from "./metrics.js";

/**
 * What the registry's last answered command said of Redis: failing from a command that failed with
 * `REGISTRY_ERR_UNAVAILABLE` (Redis unreachable or too slow) until the next one that succeeds. Readiness uses it,
 * so that `/readyz` turns 503 as soon as lookups fail, not only at the next liveness refresh (in a black hole the
 * connection stays "ready" and the refresh comes every `S`, up to `S` + the command timeout later).
 */
export class RegistryHealth {
  #failing = false;

  /** Whether the last answered registry command reached Redis. */
  get ok(): boolean {
    return !this.#failing;
  }

  /** Records a command's outcome. */
  observe(error?: unknown): void {
    if (error === undefined) this.#failing = false;
    else if ((error as { code?: unknown }).code === "REGISTRY_ERR_UNAVAILABLE") this.#failing = true;
  }
}

/**
 * Wraps every registry method so that its latency lands in the Redis latency histogram
 * (`traffic_cop_redis_command_duration_seconds{op="<method>"}`); `close` is passed through untimed.
 */
export function instrumentRegistry(registry: ConnectionRegistry, metrics: GatewayMetrics, health?: RegistryHealth): ConnectionRegistry {
  // One wrapper per method, made on first use: the registry is called on every connect and close.
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(registry, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      let wrapper = wrappers.get(property);
      if (wrapper === undefined || (wrapper as { original?: unknown }).original !== value) {
        wrapper = property === "close" ? value.bind(target) : timed(target, value as (...a: unknown[]) => unknown, metrics.redisLatency.observer({ op: String(property) }), health);
        (wrapper as { original?: unknown }).original = value;
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}

function timed(target: object, method: (...a: unknown[]) => unknown, observe: (seconds: number) => void, health?: RegistryHealth): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const started = performance.now();
    const result = method.apply(target, args);
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          observe((performance.now() - started) / 1000);
          health?.observe();
          return value;
        },
        (error: unknown) => {
          observe((performance.now() - started) / 1000);
          health?.observe(error);
          throw error;
        },
      );
    }
    observe((performance.now() - started) / 1000);
    return result;
  };
}
