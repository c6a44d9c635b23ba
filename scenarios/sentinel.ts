import { defineRedisFailoverScenario } from "../harness/scenario/redis-failover-scenario.js";

/**
 * `npm run scenario sentinel`: Redis runs as a primary with one replica under three sentinels, and the gateways
 * follow the sentinels. The primary is SIGKILLed under load; the sentinels promote the replica and the killed node
 * comes back empty as its replica. Writes acknowledged just before the kill may be lost (replication is
 * asynchronous): the gateways must find the new primary by themselves, and the registry must converge back to the
 * live connections within the bound. Routes are answered throughout; loss is tolerated only inside the fault.
 */
export default defineRedisFailoverScenario({
  name: "sentinel",
  description: "Redis primary killed under load; the sentinels promote the replica and the registry converges to the live connections",
  redis: "sentinel",
});
