import { defineRedisFailoverScenario } from "../harness/scenario/redis-failover-scenario.js";

/**
 * `npm run scenario cluster-failover`: Redis Cluster of 3 masters with one replica each; the gateways reach every
 * node through its proxy (`REDIS_NAT_MAP`). One master is SIGKILLed under load; its replica takes over its slots
 * (cluster-node-timeout 2 s) and the killed node comes back empty as the new master's replica. Writes acknowledged just before the kill may be lost (replication is
 * asynchronous): the gateways' cluster clients must find the new master of those slots by themselves, and the registry must converge back to the
 * live connections within the bound. Routes are answered throughout; loss is tolerated only inside the fault.
 */
export default defineRedisFailoverScenario({
  name: "cluster-failover",
  description: "Redis Cluster master killed under load; its replica takes over its slots and the registry converges to the live connections",
  redis: "cluster",
});
