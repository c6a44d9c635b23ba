import type { RegistryKeys } from "./keys.js";
import { toRegistryError } from "./redis-client.js";
import type { ResolvedRedisConnectionRegistryOptions } from "./redis-registry-options.js";
import type { ScriptClient } from "./redis-scripts.js";

/** What the parts of `RedisConnectionRegistry` share: its client, keys, mode and clock. @internal */
export interface RedisRegistryContext {
  /** The client, with the scripts defined. */
  readonly client: ScriptClient;
  readonly keys: RegistryKeys;
  /** Whether one script may touch every key (standalone) or only one session's slot (Cluster). */
  readonly full: boolean;
  /** `"1"` when session keys carry hash tags, else `"0"` (script argument). */
  readonly h: string;
  readonly options: ResolvedRedisConnectionRegistryOptions;
  /** The clock, in whole epoch ms. */
  now(): number;
}

/** Runs `fn`, mapping any failure to a registry error naming `operation` (`REGISTRY_ERR_UNAVAILABLE`, ...). */
export async function callRegistry<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toRegistryError(error, operation);
  }
}
