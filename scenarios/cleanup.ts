import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario cleanup`: while the fleet routes messages, clients of their own connect and leave for good in
 * each way a real client leaves that the gateway can see: a clean close (close frame), a socket torn down without
 * a close frame (`terminate()`), and its process SIGKILLed (the kernel closes its sockets). Each time, everything
 * of the connection (record, reverse key, every index member) must be gone from Redis within 2 s, not at
 * its TTL; and on every sample, Redis must match the live connections and every key must carry a TTL within its
 * bound. The TTL (10 s) is far above the departure bound (2 s) and the observation window (3 s), so a record left
 * to its TTL can never pass for a cleanup; the settle bound (5 s) stays below it, so `no-ghosts` cannot be
 * rescued by the TTL either.
 */
export default defineScenario({
  name: "cleanup",
  description: "clients leave by close frame, by terminate() and by a killed process; their keys are gone within 2 s, Redis matches the fleet on every sample",
  // Not `delivery`: the routes are background load here, and on a machine at load average 20-30 a Redis command of
  // the gateway times out now and then (REGISTRY_UNAVAILABLE, counted as refused), which says nothing of cleanup.
  checks: ["prompt-cleanup", "state-audit", "key-ttl", "no-ghosts", "metrics-agree"],
  profiles: {
    ci: {
      instances: 3,
      clients: 30,
      durationS: 1,
      messageRatePerSecond: 20,
      connectionTtlMs: 10_000,
      heartbeatIntervalMs: 2_000,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 5_000, minDeliveryRatio: 0.99 },
    },
    release: {
      instances: 3,
      clients: 3_000,
      durationS: 10,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 5_000,
      drainTimeoutMs: 3_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => {
    const count = p.clients >= 1_000 ? 100 : 6;
    return [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(p.durationS * 1_000),
      Step.phase("depart"),
      Step.departClients({ kind: "close", count }),
      Step.departClients({ kind: "terminate", count }),
      Step.departClients({ kind: "kill", count }),
      // Two audit passes after the last departure, judged against it.
      Step.hold(Math.max(p.durationS * 1_000, 2_000)),
      Step.phase("settle"),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ];
  },
});
