import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario pause`: one instance is frozen (SIGSTOP, then SIGCONT) under load for longer than the connection
 * TTL, as a long GC pause or a throttled container would freeze it: it keeps its sockets but answers nothing and
 * refreshes nothing, so its records expire or another instance reaps them. When it wakes, its clients must be served
 * again (their records written again on the woken instance) or told to move with a close code; no record may name an
 * instance that no longer holds the socket, and no route may be delivered twice.
 */
export default defineScenario({
  name: "pause",
  description: "one instance frozen (SIGSTOP) longer than the connection TTL, then woken; its clients are re-registered or told to move, nothing twice",
  checks: ["pause-recovery", "delivery", "no-ghosts", "metrics-agree", "cross-instance-lookup"],
  profiles: {
    ci: {
      instances: 3,
      clients: 60,
      durationS: 1,
      messageRatePerSecond: 30,
      // Short TTL and heartbeat so that a freeze of two TTLs (6 s) reaps for sure and the ci run stays brief.
      connectionTtlMs: 3_000,
      heartbeatIntervalMs: 500,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 2_500, minDeliveryRatio: 0.9 },
    },
    release: {
      instances: 4,
      clients: 3_000,
      durationS: 10,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      connectionTtlMs: 10_000,
      heartbeatIntervalMs: 2_000,
      drainTimeoutMs: 3_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 8_000, minDeliveryRatio: 0.9 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.hold(p.durationS * 1_000),
    Step.phase("freeze"),
    // Two TTLs: every record of the frozen instance expires by TTL even where no reaper removes it first.
    Step.fault(Fault.freezeInstance({ target: "random", durationMs: 2 * p.connectionTtlMs }), { background: true }),
    Step.probeWake({ recoverTimeoutMs: 4 * p.heartbeatIntervalMs + 5_000 }),
    Step.awaitBackground(),
    Step.phase("woken"),
    Step.probeLookups({ maxConnections: p.clients >= 1_000 ? 60 : 12 }),
    Step.hold(p.durationS * 1_000),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
