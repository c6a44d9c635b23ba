import { Fault } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario flood`: while the fleet holds its connections and routes messages, every instance takes a
 * bounded flood of WebSocket connects (each opened, welcomed and closed) and, at the same time, autocannon
 * floods the HTTP lookup API and then the HTTP route API. Afterwards no flood connection may be left in the
 * registry, every fleet connection must still be visible from every instance, and no routed message may vanish.
 */
export default defineScenario({
  name: "flood",
  description: "WebSocket connect flood plus HTTP lookup/route floods while the fleet holds and routes; no ghosts, nothing lost",
  checks: ["no-ghosts", "metrics-agree", "delivery", "cross-instance-lookup", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 60,
      durationS: 1,
      messageRatePerSecond: 30,
      // A TTL well beyond the settle bound: a flood connection left registered must show as a ghost, not expire first.
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 2_000,
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
  steps: (p) => {
    const big = p.clients >= 1_000;
    const floodMs = Math.max(2_000, p.durationS * 1_000);
    return [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(p.durationS * 1_000),
      Step.phase("flood"),
      Step.fault(Fault.connectionFlood({ target: "all", connections: big ? 20_000 : 900, ratePerSecond: big ? 200 : 20, durationMs: big ? 60_000 : 15_000 }), { background: true }),
      Step.httpLoad({ endpoint: "lookup", durationMs: floodMs, ratePerSecond: big ? 3_000 : 300, connections: big ? 30 : 6 }),
      Step.httpLoad({ endpoint: "route", durationMs: floodMs, ratePerSecond: big ? 1_000 : 100, connections: big ? 30 : 6 }),
      Step.awaitBackground(),
      Step.phase("after"),
      Step.probeLookups({ maxConnections: big ? 60 : 12 }),
      Step.phase("settle"),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ];
  },
});
