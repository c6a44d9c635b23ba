import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario lookup`: the fleet spreads over the instances and routes messages among its sessions. A
 * seeded sample of live connections is looked up from every instance (by websocket_id and through the session),
 * and compared field by field with each other and with Redis; for every ordered pair of instances a message is
 * routed on one to a client held by the other. No fault: this is the shared-state promise on its own.
 */
export default defineScenario({
  name: "lookup",
  description: "every connection is visible with equal fields from every instance and routes reach clients held by another instance",
  checks: ["cross-instance-lookup", "delivery", "no-ghosts", "metrics-agree", "protocol-conformance", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 60,
      durationS: 2,
      // 600-750 routes over the run's 4 s of messages (850-1,050 expected receipts, most across instances): a gateway
      // that drops 1 % of its remote deliveries lost 2-9 of them in each of 6 runs; at 30/s (about 100 routes) it
      // lost none in 2 runs of 12, so lookup alone passed it.
      messageRatePerSecond: 150,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 10_000, minDeliveryRatio: 0.99 },
    },
    release: {
      instances: 4,
      clients: 4_000,
      durationS: 20,
      messageRatePerSecond: 400,
      rampPerSecond: 1_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 30_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.phase("load"),
    Step.hold(p.durationS * 1_000),
    Step.phase("probe"),
    Step.probeLookups({ maxConnections: p.clients >= 1_000 ? 60 : 12 }),
    // Welcome visible at once from every instance, the sender excluded, resume keeping its id: every instance pair.
    Step.probeConformance({ promises: ["welcome-after-write", "sender-excluded", "resume-keeps-id"] }),
    Step.hold((p.durationS * 1_000) / 2),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
