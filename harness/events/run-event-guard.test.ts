import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { GatewayProcessState } from "../runtime/gateway-process.js";
import { isRunEvent, runEventProblem, RUN_EVENT_TYPES } from "./run-event-guard.js";

/** One event of each shape seen in real runs (every scenario, and the all-checks fixture with negative controls). */
const RECORDED: Record<string, unknown>[] = JSON.parse(readFileSync(new URL("../../test/fixtures/run-events.json", import.meta.url), "utf8"));

const welcome = () => ({ ...RECORDED.find((e) => e.source === "fleet" && e.type === "welcome")! });

describe("run event guard", () => {
  it("should accept every recorded event shape", () => {
    expect(RECORDED.length).toBeGreaterThan(30);
    for (const event of RECORDED) expect(runEventProblem(event), JSON.stringify(event).slice(0, 200)).toBeUndefined();
  });

  it("should name every source and type the recorded events use", () => {
    for (const event of RECORDED) expect(RUN_EVENT_TYPES[event.source as keyof typeof RUN_EVENT_TYPES]).toContain(event.type);
  });

  it("should reject a renamed, missing, mistyped or undeclared field", () => {
    const { resumed, ...rest } = welcome();
    expect(runEventProblem({ ...rest, resumd: resumed })).toBe("fleet/welcome: missing field resumed");
    expect(runEventProblem({ ...welcome(), resumed: "yes" })).toBe('fleet/welcome: field resumed is "yes"');
    expect(runEventProblem({ ...welcome(), instance_id: 3 })).toBe("fleet/welcome: field instance_id is 3");
    expect(runEventProblem({ ...welcome(), surprise: 1 })).toBe("fleet/welcome: undeclared field surprise");
    expect(isRunEvent({ ...welcome(), instance_id: undefined })).toBe(true);
  });

  it("should accept every state a gateway process reports, paused (a freeze) included", () => {
    const states: GatewayProcessState[] = ["idle", "starting", "started", "paused", "stopping", "stopped", "start_failure", "exited"];
    for (const state of states) expect(runEventProblem({ t: 1, source: "process", type: "process_state", target: "gw-1", state, pid: 7 }), state).toBeUndefined();
    expect(runEventProblem({ t: 1, source: "process", type: "process_state", target: "gw-1", state: "frozen" })).toBe('process/process_state: field state is "frozen"');
  });

  it("should reject unknown tags and non-events", () => {
    expect(runEventProblem({ ...welcome(), type: "wellcome" })).toBe('unknown type "wellcome" of source fleet');
    expect(runEventProblem({ ...welcome(), source: "fleets" })).toBe('unknown source "fleets"');
    expect(runEventProblem({ ...welcome(), t: "now" })).toBe("field t is not a number");
    expect(runEventProblem(null)).toBe("not an object");
    expect(runEventProblem([])).toBe("not an object");
  });

  it("should tell the variants of one type apart", () => {
    const skipped = { t: 1, source: "probe", type: "route_probe", via: "gw-1", holder: "gw-2", skipped: "no fleet client on the holder" };
    expect(isRunEvent(skipped)).toBe(true);
    const sent = { t: 1, source: "probe", type: "route_probe", via: "gw-1", holder: "gw-2", client: "c1", websocket_id: "w", session_id: "s", status: 200, message_id: null, delivered: null };
    expect(isRunEvent(sent)).toBe(true);
    // Half of one variant and half of the other is neither.
    expect(isRunEvent({ ...sent, skipped: "x" })).toBe(false);
    const socket = { t: 1, source: "probe", type: "isolation_probe", channel: "ws", kind: "probe_socket", via: "gw-1", answer: null, leaked: false, inconclusive: true, error: "no socket" };
    expect(isRunEvent(socket)).toBe(true);
    expect(isRunEvent({ ...socket, channel: "http" })).toBe(false);
  });
});
