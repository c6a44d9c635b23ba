import { describe, expect, it } from "vitest";
import type { ConformancePromise, ConformanceProbeEvent, RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { protocolConformance } from "./protocol-conformance.js";

/** The check reads only the recorded events and its bounds. */
function judge(events: RunEvent[]) {
  return protocolConformance({ events, thresholds: { reconnectBoundMs: 1, settleBoundMs: 4_000, minDeliveryRatio: 1, degradedLookupBoundMs: 1_500, readyDetectBoundMs: 2_000 } } as unknown as CheckContext);
}

const plan = (promises: ConformancePromise[], instances = ["gw-1", "gw-2"]): RunEvent => ({ t: 1, source: "probe", type: "conformance_plan", promises, instances });

function attempt(fields: Partial<ConformanceProbeEvent> & Pick<ConformanceProbeEvent, "promise" | "path">): RunEvent {
  return { t: 2, source: "probe", type: "conformance_probe", form: "f", via: "gw-1", holder: "gw-2", ok: true, expected: "x", observed: {}, ...fields };
}

type Promises = Record<string, { pass: boolean; failed: string[]; not_exercised?: string }>;
const promisesOf = async (events: RunEvent[]) => ((await judge(events)).actual as { promises: Promises }).promises;

describe("protocol-conformance check", () => {
  it("should pass a promise probed on both paths without a failure", async () => {
    const result = await judge([plan(["welcome-after-write"]), attempt({ promise: "welcome-after-write", path: "local" }), attempt({ promise: "welcome-after-write", path: "remote" })]);
    expect(result.pass).toBe(true);
  });

  it("should fail a promise broken on one path, naming the path and form", async () => {
    const promises = await promisesOf([plan(["welcome-after-write"]), attempt({ promise: "welcome-after-write", path: "local" }), attempt({ promise: "welcome-after-write", path: "remote", form: "http_lookup_connection", ok: false })]);
    expect(promises["welcome-after-write"]).toMatchObject({ pass: false, failed: ["remote: http_lookup_connection"] });
  });

  it("should fail a promise probed on one path only, or skipped, as not exercised", async () => {
    const promises = await promisesOf([plan(["sender-excluded", "drain-notice"]), attempt({ promise: "sender-excluded", path: "local" }), { t: 3, source: "probe", type: "conformance_skipped", promise: "drain-notice", reason: "never drained" }]);
    expect(promises["sender-excluded"]).toMatchObject({ pass: false, not_exercised: "only the local path was probed" });
    expect(promises["drain-notice"]).toMatchObject({ pass: false, not_exercised: "never drained" });
  });

  it("should bound fail-fast answers, judging only requests sent at least the bound before the heal", async () => {
    const ff = (latency: number, sentBeforeHeal: number, path: "local" | "remote" = "remote") => attempt({ promise: "registry-unavailable-fails-fast", path, latency_ms: latency, sent_before_heal_ms: sentBeforeHeal });
    expect((await judge([plan(["registry-unavailable-fails-fast"]), ff(1_050, 2_500), ff(40, 2_500, "local")])).pass).toBe(true);
    expect((await promisesOf([plan(["registry-unavailable-fails-fast"]), ff(2_400, 2_500), ff(40, 2_500, "local")]))["registry-unavailable-fails-fast"]!.pass).toBe(false);
    // Sent 1 s before the heal: a slow answer proves nothing, and the attempt is not judged.
    const late = (await judge([plan(["registry-unavailable-fails-fast"]), ff(1_050, 2_500), ff(40, 2_500, "local"), ff(3_000, 1_000)])).actual as { unjudged_late_attempts: number; failures: number };
    expect(late).toMatchObject({ unjudged_late_attempts: 1, failures: 0 });
  });

  it("should not count a fail-fast answer over the bound only by the time the harness's own loop stood still while it waited", async () => {
    const T = 5_000_000;
    const slow = attempt({ promise: "registry-unavailable-fails-fast", path: "remote", latency_ms: 1_900, sent_at: T, sent_before_heal_ms: 2_500 });
    const fast = attempt({ promise: "registry-unavailable-fails-fast", path: "local", latency_ms: 40, sent_at: T, sent_before_heal_ms: 2_500 });
    const stall = (from: number, duration_ms: number, extra: Record<string, unknown> = {}): RunEvent => ({ t: from + duration_ms, source: "probe", type: "harness_stall", from, duration_ms, client_path: false, ...extra }) as RunEvent;
    const excused = await judge([plan(["registry-unavailable-fails-fast"]), slow, fast, stall(T + 500, 500)]);
    expect(excused.pass).toBe(true);
    expect(excused.actual).toMatchObject({ failures: 0, slow_answers_explained_by_harness_stalls: 1 });
    expect(excused.evidence).toMatchObject({ slow_answers_explained_by_harness_stalls: [expect.objectContaining({ latency_ms: 1_900, harness_stalled_ms: 500 })] });
    for (const other of [stall(T + 500, 300), stall(T - 800, 700), stall(T + 500, 500, { proxy: true }), stall(T + 500, 500, { worker: 0, client_path: true })]) {
      const result = await judge([plan(["registry-unavailable-fails-fast"]), slow, fast, other]);
      expect(result.pass, JSON.stringify(other)).toBe(false);
      expect(result.actual).toMatchObject({ failures: 1, slow_answers_explained_by_harness_stalls: 0 });
    }
  });

  it("should bound readyz detection after the cut and recovery after the heal", async () => {
    const ready = (first: number, after: number) => attempt({ promise: "readyz-reflects-redis", path: "none", observed: { first_unready_after_ms: first, ready_again_during_ms: null, ready_after_heal_ms: after } });
    expect((await judge([plan(["readyz-reflects-redis"]), ready(1_050, 110)])).pass).toBe(true);
    expect((await judge([plan(["readyz-reflects-redis"]), ready(2_500, 110)])).pass).toBe(false);
    expect((await judge([plan(["readyz-reflects-redis"]), ready(1_050, 5_000)])).pass).toBe(false);
  });

  it("should judge isolation attempts per path, and fail when nothing was probed", async () => {
    const isolation = (path: "local" | "remote", leaked: boolean): RunEvent => ({
      t: 2,
      source: "probe",
      type: "isolation_probe",
      channel: "ws",
      kind: "route_ws_websocket_id",
      via: "gw-1",
      path,
      victim: { websocket_id: "w", session_id: "s", tenant_id: "t" },
      answer: {},
      baseline: {},
      leaked,
      inconclusive: false,
      message_id: null,
    });
    expect((await judge([plan(["nbf-refused"]), attempt({ promise: "nbf-refused", path: "none" }), isolation("local", false), isolation("remote", false)])).pass).toBe(true);
    const promises = await promisesOf([plan(["nbf-refused"]), attempt({ promise: "nbf-refused", path: "none" }), isolation("local", false), isolation("remote", true)]);
    expect(promises["tenant-isolation"]).toMatchObject({ pass: false, failed: ["remote: ws:route_ws_websocket_id"] });
    expect((await judge([])).pass).toBe(false);
  });
});
