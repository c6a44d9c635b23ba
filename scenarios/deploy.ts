import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario deploy`: a rolling deploy under message load. Every instance in turn is drained with SIGTERM
 * (reconnect notice, close 1012, exit 0) and started again, each ready before the next goes down. The zero
 * downtime claim: every client moves and comes back within the bound with the same websocket_id and its session
 * state, registered exactly once on a live instance; no ghost record is left; no routed message vanishes.
 */
export default defineScenario({
  name: "deploy",
  description: "rolling SIGTERM restart of every instance under load; clients move without downtime, state and messages survive",
  checks: ["restart-survival", "no-ghosts", "metrics-agree", "delivery", "protocol-conformance", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 90,
      durationS: 2,
      messageRatePerSecond: 30,
      // A TTL well beyond the settle bound: a drained connection left registered must show as a ghost, not expire first.
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 2_000,
      drainTimeoutMs: 2_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 10_000, minDeliveryRatio: 0.98 },
    },
    release: {
      instances: 4,
      clients: 4_000,
      durationS: 20,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      drainTimeoutMs: 5_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 30_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.writeSessionState(),
    Step.phase("load"),
    Step.hold(p.durationS * 1_000),
    Step.phase("deploy"),
    // One witness per instance stays put through its drain: the reconnect notice must come before the 1012 close.
    // It holds every drain to DRAIN_TIMEOUT_MS - G (1.5 s in ci).
    Step.probeConformance({ promises: ["drain-notice"] }),
    // Each instance is ready again before the next drains: the fleet always has somewhere to move to.
    Step.fault(Fault.rollingRestart({ mode: "stop", pauseMs: 500 })),
    Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs * 2 }),
    Step.phase("after"),
    Step.hold((p.durationS * 1_000) / 2),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
