import { describe, expect, it } from "vitest";
import type { RouteTarget, RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { delivery } from "./delivery.js";

/** The delivery check reads only the recorded events and its threshold. */
function judge(events: RunEvent[]) {
  return delivery({ events, thresholds: { minDeliveryRatio: 0.5 } } as unknown as CheckContext);
}

const T0 = 1_000_000;

/** A welcome of client `client` (`w<client>`) in session s1 of tenant t1 (or as given) on gw-1 at `t`. */
function welcome(client: string, t: number, extra: { session_id?: string; tenant_id?: string; agent_type?: string; pillar?: string; instance_id?: string } = {}): RunEvent {
  return {
    t,
    source: "fleet",
    type: "welcome",
    client,
    worker: 0,
    session_id: extra.session_id ?? "s1",
    tenant_id: extra.tenant_id ?? "t1",
    target: "ws://x",
    resumed: false,
    latency_ms: 1,
    websocket_id: `w${client}`,
    instance_id: extra.instance_id ?? "gw-1",
    agent_type: extra.agent_type ?? "a",
    pillar: extra.pillar ?? "p",
  };
}

/** Sender c1 and receivers c2, c3 welcomed long before `T0`. */
const fleet = (): RunEvent[] => [welcome("c1", T0 - 10_000), welcome("c2", T0 - 10_000), welcome("c3", T0 - 10_000, { agent_type: "b" })];

/** One route `m1` from c1 at `t` to `to`: acked with `ack` (or not at all), and received by `receivedBy`. */
function route(t: number, to: RouteTarget, ack: { delivered: number; partial?: true } | null, receivedBy: string[]): RunEvent[] {
  return [
    { t, source: "fleet", type: "message_sent", client: "c1", worker: 0, session_id: "s1", message_id: "m1", to, websocket_id: "wc1" },
    ...receivedBy.map((client): RunEvent => ({ t: t + 3, source: "fleet", type: "message_received", client, worker: 0, message_id: "m1", session_id: "s1" })),
    ...(ack ? [{ t: t + 5, source: "fleet", type: "message_acked", client: "c1", worker: 0, message_id: "m1", ...ack } as RunEvent] : []),
  ];
}

const partition = (start: number, end: number): RunEvent[] => {
  const fault = { fault_id: "f1", kind: "partition", targets: ["gw-1"], description: "partition" } as const;
  return [
    { t: start, source: "fault", type: "fault_start", ...fault, targets: [...fault.targets] },
    { t: end, source: "fault", type: "fault_end", ...fault, targets: [...fault.targets], ok: true, duration_ms: end - start },
  ];
};

describe("delivery check", () => {
  it("should pass when exactly the expected recipients receive a route and the ack counts them", async () => {
    expect((await judge([...fleet(), ...route(T0, { agent_type: "a" }, { delivered: 1 }, ["c2"])])).pass).toBe(true);
    expect((await judge([...fleet(), ...route(T0, {}, { delivered: 2 }, ["c2", "c3"])])).pass).toBe(true);
    expect((await judge([...fleet(), ...route(T0, { websocket_id: "wc3" }, { delivered: 1 }, ["c3"])])).pass).toBe(true);
  });

  it("should fail a loss outside faults even when the ack claims the delivery", async () => {
    const result = await judge([...fleet(), ...route(T0, {}, { delivered: 2 }, ["c2"])]);
    expect(result.pass).toBe(false);
    expect(result.actual).toMatchObject({ lost_outside_faults: 1, ack_mismatches_outside_faults: 1, expected_recipients: 2, expected_received: 1 });
  });

  it("should fail an ack that undercounts outside faults, and a delivery beyond a plain ack", async () => {
    const result = await judge([...fleet(), ...route(T0, { agent_type: "a" }, { delivered: 0 }, ["c2"])]);
    expect(result.pass).toBe(false);
    expect(result.actual).toMatchObject({ beyond_acked: 1, ack_mismatches_outside_faults: 1 });
  });

  it("should fail any unexpected recipient, inside a fault window too: the sender, a non-matching client, another session", async () => {
    const others = [welcome("c4", T0 - 10_000, { session_id: "s2" }), welcome("c5", T0 - 10_000, { tenant_id: "t2" })];
    for (const intruder of ["c1", "c3", "c4", "c5"]) {
      for (const faults of [[], partition(T0 - 1_000, T0 + 1_000)]) {
        const result = await judge([...fleet(), ...others, ...faults, ...route(T0, { agent_type: "a" }, { delivered: 2, partial: true }, ["c2", intruder])]);
        expect(result.pass, intruder).toBe(false);
        expect(result.actual, intruder).toMatchObject({ unexpected_recipients: 1 });
      }
    }
  });

  it("should tolerate a loss inside a fault window (or its grace), bounded by the ratio only", async () => {
    const during = await judge([...fleet(), ...partition(T0 - 1_000, T0 + 1_000), ...route(T0, {}, { delivered: 2 }, ["c2"])]);
    expect(during.pass).toBe(true);
    expect(during.actual).toMatchObject({ in_fault_routes: 1, lost_outside_faults: 0 });
    const inGrace = await judge([...fleet(), ...partition(T0 - 4_000, T0 - 3_000), ...route(T0, {}, { delivered: 2 }, ["c2"])]);
    expect(inGrace.pass).toBe(true);
    const afterGrace = await judge([...fleet(), ...partition(T0 - 60_000, T0 - 50_000), ...route(T0, {}, { delivered: 2 }, ["c2"])]);
    expect(afterGrace.pass).toBe(false);
    const belowRatio = await judge([...fleet(), ...partition(T0 - 1_000, T0 + 1_000), ...route(T0, {}, { delivered: 2 }, [])]);
    expect(belowRatio.pass).toBe(false);
  });

  it("should exclude and count a recipient that connects, moves or closes around the route", async () => {
    const reconnecting: RunEvent[] = [
      { t: T0 + 1, source: "fleet", type: "disconnect", client: "c2", worker: 0, session_id: "s1", close_code: 1006, reason: "", expected: false, instance_id: "gw-1" },
    ];
    // Its socket may have taken the frame as it closed: an ack of 0 or 1 is right (1 here would only lower the ratio).
    const result = await judge([...fleet(), ...reconnecting, ...route(T0, { agent_type: "a" }, { delivered: 0 }, [])]);
    expect(result.pass).toBe(true);
    expect(result.actual).toMatchObject({ expected_recipients: 0, ambiguous_recipients: 1, ambiguous_outside_faults: 1, ambiguous_received: 0 });
    const closing = (t: number): RunEvent => ({ t, source: "fleet", type: "disconnect", client: "c2", worker: 0, session_id: "s1", close_code: 1000, reason: "fleet stopped", expected: true, instance_id: "gw-1" });
    // A close recorded shortly after the answer may have begun before the delivery: ambiguous; a later one is not.
    expect((await judge([...fleet(), closing(T0 + 505), ...route(T0, { agent_type: "a" }, { delivered: 0 }, [])])).actual).toMatchObject({ ambiguous_recipients: 1 });
    expect((await judge([...fleet(), closing(T0 + 1_006), ...route(T0, { agent_type: "a" }, { delivered: 0 }, [])])).actual).toMatchObject({ lost_outside_faults: 1 });
    const late = await judge([welcome("c1", T0 - 10_000), welcome("c2", T0 + 2), ...route(T0, { agent_type: "a" }, { delivered: 1 }, ["c2"])]);
    expect(late.pass).toBe(true);
    expect(late.actual).toMatchObject({ ambiguous_recipients: 1, ambiguous_received: 1 });
  });

  it("should exclude a recipient whose instance was not up throughout", async () => {
    const down: RunEvent[] = [{ t: T0 + 1, source: "process", type: "process_state", target: "gw-1", state: "exited" }];
    const result = await judge([...fleet(), ...down, ...route(T0, { agent_type: "a" }, { delivered: 0 }, [])]);
    expect(result.pass).toBe(true);
    expect(result.actual).toMatchObject({ ambiguous_recipients: 1 });
  });

  it("should fail a route never answered, a duplicate, a gateway error despite expected recipients, and an unexplained partial ack", async () => {
    expect((await judge([...fleet(), ...route(T0, {}, null, [])])).actual).toMatchObject({ vanished: 1 });
    const twice = await judge([...fleet(), ...route(T0, { agent_type: "a" }, { delivered: 1 }, ["c2", "c2"])]);
    expect([twice.pass, ((twice.actual) as Record<string, number>).duplicates]).toEqual([false, 1]);
    // Each copy's time and connection, for telling a message taken twice from Redis from one sent again.
    expect((twice.evidence as Record<string, unknown>).duplicate_receipts).toEqual([{ route: "m1", client: "c2", sent: T0, answered: T0 + 5, receipts: [{ t: T0 + 3, websocket_id: null }, { t: T0 + 3, websocket_id: null }] }]);
    expect(((await judge([...fleet(), ...route(T0, { agent_type: "a" }, { delivered: 1 }, ["c2"])])).evidence as Record<string, unknown>).duplicate_receipts).toEqual([]);
    const refused = await judge([
      ...fleet(),
      ...route(T0, { websocket_id: "wc2" }, null, []),
      { t: T0 + 5, source: "fleet", type: "message_error", client: "c1", worker: 0, message_id: "m1", code: "NOT_FOUND", message: "no such connection" },
    ]);
    expect([refused.pass, ((refused.actual) as Record<string, number>).refused_outside_faults]).toEqual([false, 1]);
    const partial = await judge([...fleet(), ...route(T0, { agent_type: "a" }, { delivered: 1, partial: true }, ["c2"])]);
    expect([partial.pass, ((partial.actual) as Record<string, number>).partial_acks_outside_faults]).toEqual([false, 1]);
    const gaveUp = await judge([
      ...fleet(),
      ...route(T0, { agent_type: "a" }, null, []),
      { t: T0 + 5, source: "fleet", type: "message_error", client: "c1", worker: 0, message_id: "m1", code: "FLEET_SOCKET_CLOSED", message: "closed" },
    ]);
    expect([gaveUp.pass, ((gaveUp.actual) as Record<string, number>).sender_gave_up]).toEqual([true, 1]);
  });
});
