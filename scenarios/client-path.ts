import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario client-path`: the fleet reaches each gateway through a proxy of its own, and the clients' links
 * fail, not Redis's: latency, then a bandwidth limit, then a black hole on one instance's clients (their sockets stay
 * open, nothing gets through: half-open at scale). The gateway must find every black-holed socket half-open and
 * remove its record within 2H + W (`half-open-cleanup`, W = 1000 ms for the removal, read at the 1 s sampling), and
 * once the links heal and the clients resume, the registry must equal the live connections (`no-ghosts`).
 */
export default defineScenario({
  name: "client-path",
  description: "latency, bandwidth and a black hole on the clients' own links; half-open clients cleaned within 2H + W",
  checks: ["half-open-cleanup", "no-ghosts", "metrics-agree"],
  profiles: {
    ci: {
      instances: 3,
      clients: 150,
      durationS: 2,
      messageRatePerSecond: 30,
      connectionTtlMs: 6_000,
      heartbeatIntervalMs: 1_000,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 10_000, minDeliveryRatio: 0.95 },
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
      thresholds: { reconnectBoundMs: 15_000, settleBoundMs: 30_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.hold(p.durationS * 1_000),
    Step.phase("latency"),
    Step.fault(Fault.clientLink({ target: "random", form: "latency", latencyMs: 100, durationMs: p.durationS * 1_000 })),
    Step.phase("bandwidth"),
    // Enough for the heartbeats and this fleet's share of routes, so the link is slow but not cut.
    Step.fault(Fault.clientLink({ target: "random", form: "bandwidth", rateKbps: 64, durationMs: p.durationS * 1_000 })),
    Step.phase("blackhole"),
    // Longer than the bound 2H + W plus two samples, so that the check can see the records go.
    Step.fault(Fault.clientLink({ target: "distinct", form: "blackhole", durationMs: 2 * p.heartbeatIntervalMs + 1_000 + 3_000 })),
    Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs * 2 }),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
