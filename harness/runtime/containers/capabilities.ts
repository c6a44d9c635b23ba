import { HarnessError } from "../../errors.js";
import { DEFAULT_RUNTIME_OPTIONS, validateRuntimeOptions, type RedisMode, type RuntimeCapabilities, type RuntimeOptions } from "../runtime.js";
import { REFERENCE_SUT, resolveSutDefinition, type ResolvedSutDefinition } from "../sut.js";
import { IMAGES } from "./images.js";

/**
 * What the containers runtime can do: every fault but a Redis failover, on standalone Redis (a clock skew needs
 * the gateway image built on a host with libfaketime). Kept apart so that checking costs no testcontainers import.
 */
export const CONTAINER_RUNTIME_CAPABILITIES: RuntimeCapabilities = Object.freeze({
  pause: true,
  redisRestart: true,
  networkPartition: true,
  redisModes: Object.freeze(["standalone"] as RedisMode[]),
  redisFailover: false,
  clockSkew: true,
  clientProxies: true,
});

/**
 * Refuses a SUT the runtime cannot run: a `--sut` definition describes a process to spawn on the host, and the
 * containers runtime runs the reference gateway's image only.
 */
export function assertContainerSut(sut: ResolvedSutDefinition | undefined): ResolvedSutDefinition {
  const reference = resolveSutDefinition(REFERENCE_SUT);
  if (sut === undefined) return reference;
  if (sut.command !== reference.command || sut.args.join(" ") !== reference.args.join(" ")) {
    throw new HarnessError(
      "HARNESS_ERR_UNSUPPORTED",
      `--runtime containers runs the reference gateway image (${IMAGES.gateway}) only; the SUT ${JSON.stringify(sut.name)} is a process definition (${sut.command}) with no image. Run it with --runtime local, or put it in the topology by hand (docker-compose.yml)`,
    );
  }
  return sut;
}

/**
 * Validates the options of the containers runtime: a `TypeError` for impossible values, `HARNESS_ERR_UNSUPPORTED`
 * for what it cannot honour (a Redis Cluster, a SUT without an image).
 */
export function assertContainerOptions(options: RuntimeOptions): void {
  validateRuntimeOptions(options);
  const redis = options.redis ?? DEFAULT_RUNTIME_OPTIONS.redis;
  if (!CONTAINER_RUNTIME_CAPABILITIES.redisModes.includes(redis)) {
    throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `--runtime containers runs standalone Redis only (asked for ${redis}); a Redis Cluster announces node addresses the harness cannot reach through published ports. Use --runtime local`);
  }
  assertContainerSut(options.sut);
}
