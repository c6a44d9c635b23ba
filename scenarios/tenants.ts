import { defineScenario } from "../harness/scenario/define-scenario.js";
import { Step } from "../harness/scenario/step.js";

/**
 * `npm run scenario tenants`: while the fleet (several tenants) routes messages, a tenant of its own probes other
 * tenants' connections and sessions: connection and session lookups, routes over HTTP and WebSocket, session
 * state reads and writes, connects into and resumes of a victim's session. Every attempt must be denied exactly
 * as for an id that does not exist, and no probe message may reach a fleet client. Each victim is probed from the
 * instance holding it and from another; a token whose `nbf` lies in the future is refused on every instance.
 */
export default defineScenario({
  name: "tenants",
  description: "cross-tenant lookups, routes, resumes and session-state reads are denied like missing ids, under load",
  checks: ["tenant-isolation", "delivery", "protocol-conformance", "state-audit", "key-ttl", "metrics-agree"],
  profiles: {
    ci: {
      instances: 2,
      clients: 40,
      durationS: 1,
      messageRatePerSecond: 20,
      thresholds: { reconnectBoundMs: 5_000, settleBoundMs: 8_000, minDeliveryRatio: 0.99 },
    },
    release: {
      instances: 3,
      clients: 3_000,
      durationS: 10,
      messageRatePerSecond: 300,
      rampPerSecond: 1_000,
      thresholds: { reconnectBoundMs: 10_000, settleBoundMs: 20_000, minDeliveryRatio: 0.99 },
    },
  },
  steps: (p) => [
    Step.phase("ramp"),
    Step.connectFleet({ timeoutMs: 60_000 }),
    Step.messages(p.messageRatePerSecond),
    Step.writeSessionState(),
    Step.hold(p.durationS * 1_000),
    Step.phase("probe"),
    // Each victim from its own instance and from another; protocol-conformance judges these attempts per path too.
    Step.probeTenantIsolation({ victims: p.clients >= 1_000 ? 30 : 6 }),
    Step.probeConformance({ promises: ["nbf-refused", "bad-tokens-refused", "bad-frames-answered"] }),
    Step.hold(p.durationS * 1_000),
    Step.phase("settle"),
    Step.settle({ timeoutMs: p.thresholds.settleBoundMs }),
  ],
});
