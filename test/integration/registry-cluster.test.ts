import { defineRegistryContract } from "../helpers/registry-contract.js";
import { redisTarget, useSuiteRedis } from "../helpers/registry-targets.js";

const suite = useSuiteRedis("cluster");

defineRegistryContract(redisTarget("Redis Cluster (3 masters)", suite.redis, suite.direct, true));
