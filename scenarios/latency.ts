import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario latency`: the link between every gateway and Redis degrades under load, first with latency
 * and jitter, then with a bandwidth limit. Lookups from every instance and routes across instances run while
 * each is in effect; every routed message must be answered and delivered, and the registry must equal the live
 * connections once the link heals.
 */
export default defineScenario({
  name: "latency",
  description: "Redis link latency with jitter, then a bandwidth limit, under load; lookups and routes still work, nothing lost",
  checks: ["delivery", "no-ghosts", "metrics-agree", "cross-instance-lookup", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 60,
      durationS: 2,
      messageRatePerSecond: 30,
      // A TTL well beyond the settle bound: a missing unregister must show as a ghost, not expire first.
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 1_000,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 8_000, minDeliveryRatio: 0.98 },
    },
    release: {
      instances: 3,
      clients: 3_000,
      durationS: 15,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 5_000,
      drainTimeoutMs: 5_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => {
    // Each fault lasts twice the profile's duration and its probe round starts an eighth of the way in, so the
    // round (about a second in ci under load) ends well before the fault does.
    const faultMs = p.durationS * 2_000;
    const probed = p.clients >= 1_000 ? 30 : 6;
    return [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(1_000),
      Step.phase("latency"),
      Step.fault(Fault.latency({ target: "all", latencyMs: 40, jitterMs: 20, durationMs: faultMs }), { background: true }),
      Step.hold(faultMs / 8),
      Step.probeLookups({ maxConnections: probed }),
      Step.awaitBackground(),
      Step.phase("bandwidth"),
      // Scaled with the fleet, whose heartbeat batches and routes grow with it; at least 32 KB/s.
      Step.fault(Fault.bandwidth({ target: "all", rateKbps: Math.max(32, Math.ceil(p.clients / 20)), durationMs: faultMs }), { background: true }),
      Step.hold(faultMs / 8),
      Step.probeLookups({ maxConnections: probed }),
      Step.awaitBackground(),
      Step.phase("settle"),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ];
  },
});
