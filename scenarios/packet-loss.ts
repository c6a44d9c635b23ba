import { survivableLossPercent } from "../harness/checks/packet-faults.js";
import { Fault, STALE_LINK_RECOVERY_MS } from "../harness/faults/fault.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario packet-loss`: each gateway runs in a network namespace of the run's own, and under load one
 * instance's own link (its clients and its Redis traffic alike) loses packets, then another's duplicates them, then a
 * third's reorders them, each in both directions. TCP must hide all three from the application: no socket closes
 * unasked and every client keeps its record (`packet-faults`; the loss is the most the run's size can judge,
 * {@link survivableLossPercent}: 5 % in ci, 3 % in release), lookups from every instance keep working during each
 * fault (`cross-instance-lookup`), no route is lost or received twice outside the fault windows and none twice
 * inside (`delivery`), and Redis matches the live connections (`state-audit`, `key-ttl`, `no-ghosts`). Last, one
 * instance's open Redis connections go silent (every packet of them dropped, no reset) while new ones get through:
 * TCP cannot hide that, the gateway must connect again by itself, and lookups through every instance must work again
 * within {@link STALE_LINK_RECOVERY_MS}, while the old connections are still silent. Local runtime as root only
 * (`ip netns`, nftables, HTB).
 */
export default defineScenario({
  name: "packet-loss",
  description: "packet loss, duplication and reordering on a gateway's own link (network namespaces): TCP hides them, no socket or record lost; then its Redis connections go silent and it must connect again by itself",
  checks: ["packet-faults", "delivery", "cross-instance-lookup", "state-audit", "key-ttl", "no-ghosts", "metrics-agree"],
  profiles: {
    ci: {
      instances: 3,
      clients: 90,
      // Faults of 2 s: some 60 pings per instance and the loss window's retransmissions, in a run of about 15 s.
      durationS: 2,
      messageRatePerSecond: 30,
      // A TTL of six heartbeats: one refresh delayed by retransmissions costs nothing; a ghost still shows by settle.
      connectionTtlMs: 6_000,
      heartbeatIntervalMs: 1_000,
      drainTimeoutMs: 1_000,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 8_000, minDeliveryRatio: 0.98 },
    },
    release: {
      instances: 3,
      clients: 3_000,
      durationS: 20,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      connectionTtlMs: 10_000,
      heartbeatIntervalMs: 2_000,
      drainTimeoutMs: 3_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => {
    const faultMs = p.durationS * 1_000;
    const probed = p.clients >= 1_000 ? 30 : 6;
    // The more ping rounds a fault holds, the likelier TCP alone delays one past a heartbeat: a lower loss for more.
    const lossPercent = survivableLossPercent({ clients: Math.ceil(p.clients / p.instances), faultMs, heartbeatIntervalMs: p.heartbeatIntervalMs });
    // Each fault on an instance no earlier one hit, a lookup round a quarter of the way in (it takes about a second
    // in ci under load, so it ends while the fault holds).
    const during = (fault: ReturnType<typeof Fault.packetLoss>) => [Step.fault(fault, { background: true }), Step.hold(faultMs / 4), Step.probeLookups({ maxConnections: probed }), Step.awaitBackground()];
    return [
      Step.phase("ramp"),
      Step.connectFleet({ timeoutMs: 60_000 }),
      Step.messages(p.messageRatePerSecond),
      Step.hold(1_000),
      Step.phase("loss"),
      ...during(Fault.packetLoss({ target: "distinct", percent: lossPercent, durationMs: faultMs })),
      Step.phase("duplicate"),
      // Far more than any real link duplicates: every connection of the instance sees copies within the window.
      ...during(Fault.packetDuplication({ target: "distinct", percent: 10, durationMs: faultMs })),
      Step.phase("reorder"),
      ...during(Fault.packetReordering({ target: "distinct", percent: 10, durationMs: faultMs })),
      // packet-faults judges each packet fault until two heartbeats past its heal: the silence, which may hit the
      // same instance and have its records reaped, starts after that (seed 90 in release: gw-1 reordered, then
      // silenced at once, lost 556 records to the reaper inside the reordering's window).
      Step.hold(2 * p.heartbeatIntervalMs),
      Step.phase("stale"),
      // The instance's Redis connections go silent, new ones get through: it must connect again by itself. Lookups
      // through it once the recovery bound has passed, while the fault still holds the old connections.
      Step.fault(Fault.staleLinks({ target: "random", durationMs: STALE_LINK_RECOVERY_MS + faultMs }), { background: true }),
      Step.hold(STALE_LINK_RECOVERY_MS),
      Step.probeLookups({ maxConnections: probed }),
      Step.awaitBackground(),
      Step.phase("settle"),
      // Two heartbeats first: the packet-faults window reaches that far past the last heal.
      Step.hold(2 * p.heartbeatIntervalMs),
      Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
    ];
  },
});
