/**
 * The runtime contract suite (test/helpers/runtime-contract.ts) against the local runtime. A new runtime adds one
 * file like this (runtime-contract-containers.test.ts is the other), with the capabilities it must declare and
 * honour; one file per runtime lets the runtimes' suites run in parallel.
 */
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
