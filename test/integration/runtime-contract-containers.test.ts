/**
 * The runtime contract suite (test/helpers/runtime-contract.ts) against the containers runtime (a Docker engine and
 * the images, as for test/integration/container-runtime.test.ts); runtime-contract-local.test.ts is the other.
 */
import { CONTAINER_RUNTIME_CAPABILITIES } from "../../harness/runtime/containers/capabilities.js";
import { listLabelledObjects } from "../../harness/runtime/containers/container-sweep.js";
import { createRuntime } from "../../harness/runtime/create-runtime.js";
import { describeRuntimeContract } from "../helpers/runtime-contract.js";

/** Containers on a Docker network of the run's own: every capability, standalone Redis only; leftovers are labelled objects. */
describeRuntimeContract("containers", (options) => createRuntime("containers", options), () => CONTAINER_RUNTIME_CAPABILITIES, {
  leftovers: async (runId) => (await listLabelledObjects(runId)).map((object) => `${object.kind} ${object.name}`),
});
