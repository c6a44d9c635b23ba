import type { ConnectionRegistry } from "../registry/connection-registry.js";
import type { GatewayMetrics } from "./metrics.js";

/**
 * Wraps every registry method so that its latency lands in the Redis latency histogram
 * (`traffic_cop_redis_command_duration_seconds{op="<method>"}`); `close` is passed through untimed.
 */
export function instrumentRegistry(registry: ConnectionRegistry, metrics: GatewayMetrics): ConnectionRegistry {
  // One wrapper per method, made on first use: the registry is called on every connect and close.
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(registry, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      let wrapper = wrappers.get(property);
      if (wrapper === undefined || (wrapper as { original?: unknown }).original !== value) {
        wrapper = property === "close" ? value.bind(target) : timed(target, value as (...a: unknown[]) => unknown, metrics.redisLatency.observer({ op: String(property) }));
        (wrapper as { original?: unknown }).original = value;
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}

function timed(target: object, method: (...a: unknown[]) => unknown, observe: (seconds: number) => void): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const started = performance.now();
    const result = method.apply(target, args);
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          observe((performance.now() - started) / 1000);
          return value;
        },
        (error: unknown) => {
          observe((performance.now() - started) / 1000);
          throw error;
        },
      );
    }
    observe((performance.now() - started) / 1000);
    return result;
  };
}
