import { Fault } from "../faults/fault.js";
import { defineScenario, type ScenarioDefinition } from "./define-scenario.js";
import { Step } from "./step.js";

/**
 * The one shape of the Redis failover scenarios (`sentinel`, `cluster-failover`): under load the Redis primary (or a
 * cluster master with a replica) is SIGKILLed and its replica promoted; the gateways must find the new primary by
 * themselves and the registry must converge back to the live connections within the bound. Routes are answered
 * throughout; loss is tolerated only inside the fault. Only the Redis mode and the words differ.
 */
export function defineRedisFailoverScenario(identity: { name: string; description: string; redis: "sentinel" | "cluster" }): ScenarioDefinition {
  return defineScenario({
    ...identity,
    checks: ["convergence", "no-ghosts", "metrics-agree", "cross-instance-lookup", "delivery"],
    profiles: {
      ci: {
        instances: 3,
        clients: 60,
        durationS: 2,
        messageRatePerSecond: 30,
        connectionTtlMs: 10_000,
        heartbeatIntervalMs: 1_000,
        drainTimeoutMs: 1_000,
        thresholds: {
          // Clients keep their sockets through a failover (only Redis, or a third of its slots, moves): any drop must
          // be back within 5 s.
          reconnectBoundMs: 5_000,
          settleBoundMs: 5_000,
          minDeliveryRatio: 0.98,
          // One connection TTL (10 s) for a lost unregister to expire, plus one heartbeat (1 s) for a lost
          // registration to be written again, from the fault's end (the old primary back as a replica).
          convergenceBoundMs: 11_000,
        },
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
        thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99, convergenceBoundMs: 35_000 },
      },
    },
    steps: (p) => [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(p.durationS * 1_000),
      Step.phase("failover"),
      Step.fault(Fault.redisFailover()),
      Step.phase("converge"),
      // Measures at once (records lost, left behind), then polls up to the bound the check applies.
      Step.probeConvergence({ timeoutMs: p.thresholds.convergenceBoundMs ?? p.connectionTtlMs + p.heartbeatIntervalMs }),
      Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs }),
      Step.probeLookups({ maxConnections: p.clients >= 1_000 ? 60 : 12 }),
      Step.hold((p.durationS * 1_000) / 2),
      Step.phase("settle"),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ],
  });
}
