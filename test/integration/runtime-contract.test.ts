/**
 * The runtime contract suite (test/helpers/runtime-contract.ts) against every runtime. A new runtime adds one line
 * here, with the capabilities it must declare and honour.
 */
import { CONTAINER_RUNTIME_CAPABILITIES } from "../../harness/runtime/containers/capabilities.js";
import { listLabelledObjects } from "../../harness/runtime/containers/container-sweep.js";
import { createRuntime } from "../../harness/runtime/create-runtime.js";
import { networkNamespacesUnavailable } from "../../harness/runtime/network-namespaces.js";
import type { RedisMode, RuntimeCapabilities } from "../../harness/runtime/runtime.js";
import { describeRuntimeContract } from "../helpers/runtime-contract.js";

/**
 * Child processes on 127.0.0.1: pause by SIGSTOP, Redis restart for standalone Redis, no network of its own below the
 * proxy; packet faults in network namespaces with standalone Redis, where this process may make them (root, `ip`).
 */
const LOCAL_CAPABILITIES = (redis: RedisMode): RuntimeCapabilities => ({
  pause: true,
  redisRestart: redis === "standalone",
  networkPartition: false,
  redisModes: ["standalone", "cluster", "sentinel"],
  redisFailover: redis === "sentinel" || redis === "cluster",
  clockSkew: true,
  clientProxies: true,
  packetFaults: redis === "standalone" && networkNamespacesUnavailable() === undefined,
});

describeRuntimeContract("local", (options) => createRuntime("local", options), LOCAL_CAPABILITIES);

/** Containers on a Docker network of the run's own: every capability, standalone Redis only; leftovers are labelled objects. */
describeRuntimeContract("containers", (options) => createRuntime("containers", options), () => CONTAINER_RUNTIME_CAPABILITIES, {
  leftovers: async (runId) => (await listLabelledObjects(runId)).map((object) => `${object.kind} ${object.name}`),
});
