import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario redis-restart`: Redis is SIGKILLed and replaced by an empty server on the same port while
 * every client stays connected to its gateway. The gateways must rebuild the registry from their live
 * connections (on reconnect, and on the next heartbeat that finds records missing): afterwards every live
 * connection is registered once, visible from every instance, and routable across instances; routes sent
 * around the restart are answered, never lost silently.
 */
export default defineScenario({
  name: "redis-restart",
  description: "Redis restarted with data loss under load; gateways rebuild the registry from their live connections",
  checks: ["no-ghosts", "metrics-agree", "cross-instance-lookup", "delivery", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 60,
      durationS: 2,
      messageRatePerSecond: 30,
      connectionTtlMs: 10_000,
      heartbeatIntervalMs: 1_000,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 5_000, minDeliveryRatio: 0.98 },
    },
    release: {
      instances: 3,
      clients: 3_000,
      durationS: 10,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 5_000,
      drainTimeoutMs: 5_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.hold(p.durationS * 1_000),
    Step.phase("redis-restart"),
    Step.fault(Fault.redisRestart()),
    // No client should have noticed: a dropped socket here is a failure of the step's bound.
    Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs }),
    Step.phase("rebuilt"),
    // The promise: the registry is whole again within two heartbeats of the restart; the lookups probe it then.
    Step.hold(2 * p.heartbeatIntervalMs),
    Step.probeLookups({ maxConnections: p.clients >= 1_000 ? 60 : 12 }),
    Step.hold((p.durationS * 1_000) / 2),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
