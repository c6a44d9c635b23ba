import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { stateAudit } from "./state-audit.js";

/** The check reads only the recorded `state_audit` events (and the TTL and heartbeat for its bounds). */
function judge(events: RunEvent[]) {
  return stateAudit({ events, connectionTtlMs: 30_000, heartbeatIntervalMs: 10_000 } as unknown as CheckContext);
}

function pass(t: number, unread: number, divergent = 0): RunEvent {
  return {
    t, source: "probe", type: "state_audit", read_ms: 800, keys: 7, audited: 1, live: 1, divergent, transient: 0, unattributed: 0, unread,
    divergences: divergent === 0 ? [] : [{ websocket_id: "w1", kind: "missing", families: ["record"], since_ms: 60_000, bound_ms: 2_800, why: "welcome" }],
    keys_without_ttl: 0, keys_over_ttl_bound: 0, ttl_violations: [],
  } as RunEvent;
}

describe("state-audit check", () => {
  it("should pass passes without divergence, counting those that left keys unread", async () => {
    const result = await judge([pass(1_000, 0), pass(2_000, 1_555), pass(3_000, 0)]);
    expect(result.pass).toBe(true);
    expect(result.actual).toMatchObject({ passes: 3, passes_with_unread_keys: 1, unread_keys_max: 1_555 });
  });

  it("should fail a divergence, and a run none of whose passes read every key", async () => {
    expect((await judge([pass(1_000, 0), pass(2_000, 0, 1)])).pass).toBe(false);
    const unjudged = await judge([pass(1_000, 3), pass(2_000, 7)]);
    expect(unjudged.pass).toBe(false);
    expect(unjudged.evidence).toMatchObject({ reason: "no audit pass read every key" });
    expect((await judge([])).evidence).toMatchObject({ reason: "no audit pass was recorded" });
  });
});
