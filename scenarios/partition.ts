import { livenessMs } from "../harness/checks/ttl-expiry.js";
import { Fault, STAGGER_LAST_BACK_MS, type PartitionForm } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/** The three ways Redis can become unreachable through the proxy, in the order they are injected. */
const FORMS: readonly PartitionForm[] = ["disable", "blackhole", "reset"];

/**
 * `npm run scenario partition`: Redis is cut off from every gateway, in each form in turn: proxy disabled
 * (connections cut, new ones refused), a black hole (`timeout` 0: sockets stay open, nothing gets through) and
 * TCP resets (`reset_peer`). During each, the fleet's sockets must stay open and lookups must fail fast with
 * `REGISTRY_UNAVAILABLE`; after each heal the registry must equal the live connections again within the bound.
 * Routes sent meanwhile must be answered (acknowledged or refused), never lost silently.
 */
export default defineScenario({
  name: "partition",
  description: "Redis partitioned from every gateway (disabled, black hole, reset); sockets stay open, lookups fail fast, state reconciles",
  checks: ["degraded-mode", "no-ghosts", "metrics-agree", "delivery", "protocol-conformance", "state-audit", "key-ttl"],
  profiles: {
    ci: {
      instances: 3,
      clients: 45,
      durationS: 1,
      messageRatePerSecond: 30,
      connectionTtlMs: 10_000,
      heartbeatIntervalMs: 1_000,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 4_000, minDeliveryRatio: 0.98, degradedLookupBoundMs: 1_500 },
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
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99, degradedLookupBoundMs: 1_500 },
    },
  },
  steps: (p) => {
    // The gateways' liveness TTL L and scan period S (docs/protocol.md, Bounds).
    const { ttlMs: L, intervalMs: S } = livenessMs(p.connectionTtlMs);
    return [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(p.durationS * 1_000),
      // An outage every instance meets before any liveness lapses (the first one cut, the others before its liveness
      // can lapse), ended so that the others come back when only its liveness has lapsed and it comes back a little
      // later: none of them may take it for dead while it reconnects (docs/protocol.md, Bounds, kill -9: a survivor
      // reaps only once it has had Redis for L). It comes back well inside L; the watch lasts L + 2S after its heal.
      Step.phase("partition-staggered"),
      Step.fault(Fault.partition({ target: "all", staggered: { lastBackMs: Math.min(STAGGER_LAST_BACK_MS, L / 2) }, durationMs: 2 * L + 2_000 }), { background: true }),
      Step.probeDegradedMode({ rounds: 1, reconcileTimeoutMs: p.thresholds.settleBoundMs, noReapForMs: L + 2 * S }),
      ...FORMS.flatMap((form) => [
        Step.phase(`partition-${form}`),
        // Its sockets open before the cut; in the background it measures readyz and fail-fast on both paths.
        Step.probeConformance({ promises: ["readyz-reflects-redis", "registry-unavailable-fails-fast"] }),
        // The partition lasts longer than the heartbeat, so every instance meets it on a write too.
        Step.fault(Fault.partition({ target: "all", form, durationMs: Math.max(2_000, 2 * p.heartbeatIntervalMs) }), { background: true }),
        Step.probeDegradedMode({ rounds: 3, reconcileTimeoutMs: p.thresholds.settleBoundMs }),
      ]),
      Step.phase("settle"),
      Step.hold(p.durationS * 1_000),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ];
  },
});
