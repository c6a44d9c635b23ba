import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario ttl`: connections vanish without unregistering, in both ways a gateway can lose them:
 * probe clients go silent half-open (`cut`: no close frame, no FIN), and an instance holding probe connections
 * is SIGKILLed and stays down (`kill`). Their records must be gone within TTL + one heartbeat of the moment the
 * gateway can know (plus two heartbeats to detect a half-open socket). Meanwhile the fleet lives on for several
 * TTLs: records of live connections must never expire. Short TTL and heartbeat keep the ci run brief.
 */
export default defineScenario({
  name: "ttl",
  description: "half-open and crashed connections expire within TTL + one heartbeat; live connections never expire",
  checks: ["ttl-expiry", "no-ghosts", "metrics-agree", "protocol-conformance", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 45,
      durationS: 2,
      messageRatePerSecond: 20,
      connectionTtlMs: 3_000,
      heartbeatIntervalMs: 500,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 5_000, minDeliveryRatio: 0.95 },
    },
    release: {
      instances: 4,
      clients: 3_000,
      durationS: 10,
      messageRatePerSecond: 200,
      rampPerSecond: 1_000,
      connectionTtlMs: 10_000,
      heartbeatIntervalMs: 2_000,
      drainTimeoutMs: 3_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 30_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.hold(p.durationS * 1_000),
    Step.phase("strand"),
    Step.strandConnections({ count: p.clients >= 1_000 ? 60 : 6, how: "cut" }),
    // The killed instance stays down: its fleet clients resume elsewhere, its probe records are left to reapers and TTL.
    Step.strandConnections({ count: p.clients >= 1_000 ? 40 : 4, how: "kill" }),
    Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs * 2 }),
    Step.phase("expire"),
    // Live records must outlast two full TTLs on heartbeats alone.
    Step.hold(Math.max(p.durationS * 1_000, 2 * p.connectionTtlMs)),
    // The stranded ids, reaped or dropped by now, resume with their own id (and every instance pair resumes too).
    Step.probeConformance({ promises: ["resume-keeps-id"] }),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
