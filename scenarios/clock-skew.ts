import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario clock-skew`: one instance's wall clock runs a minute behind, then another's a minute ahead
 * (libfaketime; each instance is drained and started again on the skewed clock, and again on the true clock at the
 * end), under load. While each skew holds, every live fleet connection must be found from every instance, the
 * skewed one included, and no live record may be reaped or re-registered (`Step.probeClockSkew`, two TTLs long:
 * every record is rewritten and judged against its expiry several times). Once the clocks are right again the
 * registry must equal the live connections (`no-ghosts`). Needs libfaketime (Debian's `faketime`): on the local
 * runtime preloaded into the instance's process, on containers staged into the gateway image.
 */
export default defineScenario({
  name: "clock-skew",
  description: "an instance's wall clock a minute behind, then another's a minute ahead; expiry does not depend on it",
  checks: ["no-ghosts", "metrics-agree"],
  profiles: {
    ci: {
      instances: 3,
      clients: 60,
      durationS: 2,
      messageRatePerSecond: 20,
      connectionTtlMs: 3_000,
      heartbeatIntervalMs: 500,
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
  steps: (p) => {
    const observeMs = 2 * p.connectionTtlMs;
    // The longest a skew may hold: it must outlast the probe (its wait for the fleet to reconnect, at most the
    // reconnect bound, plus the observation, with room for a loaded machine); the probe heals it once it is done.
    const skewMs = p.thresholds.reconnectBoundMs + observeMs + 5_000;
    return [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(p.durationS * 1_000),
      Step.phase("behind"),
      Step.fault(Fault.clockSkew({ target: "distinct", offsetMs: -60_000, durationMs: skewMs }), { background: true }),
      Step.probeClockSkew({ observeMs, endSkew: true }),
      Step.awaitBackground(),
      Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs * 2 }),
      Step.phase("ahead"),
      Step.fault(Fault.clockSkew({ target: "distinct", offsetMs: 60_000, durationMs: skewMs }), { background: true }),
      Step.probeClockSkew({ observeMs, endSkew: true }),
      Step.awaitBackground(),
      Step.awaitConnected({ timeoutMs: p.thresholds.reconnectBoundMs * 2 }),
      Step.phase("settle"),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ];
  },
});
