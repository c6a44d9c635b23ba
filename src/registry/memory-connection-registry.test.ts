import { defineRegistryContract } from "../../test/helpers/registry-contract.js";
import { memoryTarget } from "../../test/helpers/registry-targets.js";

defineRegistryContract(memoryTarget());
