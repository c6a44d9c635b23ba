import { HarnessError } from "../../errors.js";
import { DEFAULT_RUNTIME_OPTIONS, validateRuntimeOptions, type RedisMode, type RuntimeCapabilities, type RuntimeOptions } from "../runtime.js";
import { REFERENCE_SUT, resolveSutDefinition, type ResolvedSutDefinition } from "../sut.js";
import { containerLinksUnavailable } from "./container-links.js";
import { IMAGES } from "./images.js";

/**
 * What the containers runtime can do: every fault but a Redis failover, on standalone Redis (a clock skew needs
 * the gateway image built on a host with libfaketime; packet faults need root and the tools containerLinksUnavailable
 * names). Kept apart so that checking costs no testcontainers import.
 */
export function containerRuntimeCapabilities(): RuntimeCapabilities {
  return Object.freeze({
    pause: true,
    redisRestart: true,
    networkPartition: true,
    redisModes: Object.freeze(["standalone"] as RedisMode[]),
    redisFailover: false,
    clockSkew: true,
    clientProxies: true,
    packetFaults: containerLinksUnavailable() === undefined,
  });
}

/**
 * The SUT a containers run starts, or `HARNESS_ERR_UNSUPPORTED` for one it cannot: a SUT with an `image` runs that
 * image; the reference gateway (no `--sut`, or its own process definition) runs {@link IMAGES.gateway}; any other
 * process definition has no image to run.
 */
export function assertContainerSut(sut: ResolvedSutDefinition | undefined): ResolvedSutDefinition {
  const reference = resolveSutDefinition(REFERENCE_SUT);
  if (sut === undefined) return reference;
  if (sut.image !== null) return sut;
  if (sut.command !== reference.command || sut.args.join(" ") !== reference.args.join(" ")) {
    throw new HarnessError(
      "HARNESS_ERR_UNSUPPORTED",
      `--runtime containers runs a SUT from its Docker image; the SUT ${JSON.stringify(sut.name)} is a process definition (${sut.command}) with no \`image\`. Add "image": "<name:tag>" to it (an image in this Docker engine: built, or loaded with docker load), or run it with --runtime local`,
    );
  }
  return sut;
}

/** The image each gateway container of `sut` (as {@link assertContainerSut} let it through) runs. */
export function gatewayImageOf(sut: ResolvedSutDefinition): string {
  return sut.image ?? IMAGES.gateway;
}

/**
 * Validates the options of the containers runtime: a `TypeError` for impossible values, `HARNESS_ERR_UNSUPPORTED`
 * for what it cannot honour (a Redis Cluster, a SUT process definition without an image).
 */
export function assertContainerOptions(options: RuntimeOptions): void {
  validateRuntimeOptions(options);
  const redis = options.redis ?? DEFAULT_RUNTIME_OPTIONS.redis;
  if (redis !== "standalone") {
    throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `--runtime containers runs standalone Redis only (asked for ${redis}); a Redis Cluster announces node addresses the harness cannot reach through published ports. Use --runtime local`);
  }
  assertContainerSut(options.sut);
}
