/**
 * The runtime contract suite (test/helpers/runtime-contract.ts) against the containers runtime (a Docker engine and
 * the images, as for test/integration/container-runtime.test.ts); runtime-contract-local.test.ts is the other.
 */
import { containerLinksUnavailable, findLinkTables } from "../../harness/runtime/containers/container-links.js";
import { listLabelledObjects } from "../../harness/runtime/containers/container-sweep.js";
import { createRuntime } from "../../harness/runtime/create-runtime.js";
import type { RuntimeCapabilities } from "../../harness/runtime/runtime.js";
import { describeRuntimeContract } from "../helpers/runtime-contract.js";

/**
 * Containers on a Docker network of the run's own: every capability but a Redis failover, standalone Redis only,
 * packet faults where this process may make them (root, `ip`, `nft`, `tc`, `nsenter`, `ss`); leftovers are labelled
 * objects and the host-end tables of packet faults.
 */
const CONTAINER_CAPABILITIES: RuntimeCapabilities = {
  pause: true,
  redisRestart: true,
  networkPartition: true,
  redisModes: ["standalone"],
  redisFailover: false,
  clockSkew: true,
  clientProxies: true,
  packetFaults: containerLinksUnavailable() === undefined,
};

describeRuntimeContract("containers", (options) => createRuntime("containers", options), () => CONTAINER_CAPABILITIES, {
  leftovers: async (runId) => [...(await listLabelledObjects(runId)).map((object) => `${object.kind} ${object.name}`), ...findLinkTables(runId).map((table) => `nft table ${table}`)],
});
