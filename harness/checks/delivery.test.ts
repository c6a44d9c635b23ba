import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import type { CheckContext } from "./check.js";
import { delivery } from "./delivery.js";

/** The delivery check reads only the recorded events and its threshold. */
function judge(events: RunEvent[]) {
  return delivery({ events, thresholds: { minDeliveryRatio: 0.98 } } as unknown as CheckContext);
}

const T0 = 1_000_000;
const base = { client: "c1", worker: 0 };

/** One route `m1`: sent, acked with `ack`, and received by `receivedBy` clients. */
function route(t: number, ack: { delivered: number; partial?: true }, receivedBy: number): RunEvent[] {
  return [
    { t, source: "fleet", type: "message_sent", ...base, session_id: "s1", message_id: "m1", to: { websocket_id: "w2" } },
    { t: t + 5, source: "fleet", type: "message_acked", ...base, message_id: "m1", ...ack },
    ...Array.from({ length: receivedBy }, (_, i): RunEvent => ({ t: t + 3, source: "fleet", type: "message_received", ...base, client: `r${i}`, message_id: "m1", session_id: "s1" })),
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
  it("should pass an exact ack and fail a delivery beyond a plain ack", async () => {
    expect((await judge(route(T0, { delivered: 1 }, 1))).pass).toBe(true);
    const beyond = await judge(route(T0, { delivered: 0 }, 1));
    expect(beyond.pass).toBe(false);
    expect(beyond.actual).toMatchObject({ beyond_acked: 1 });
  });

  it("should accept a delivery beyond a partial ack given during a fault (or just after it)", async () => {
    const during = await judge([...partition(T0 - 1_000, T0 + 1_000), ...route(T0, { delivered: 0, partial: true }, 1)]);
    expect(during.pass).toBe(true);
    expect(during.actual).toMatchObject({ partial_acks: 1, beyond_partial_acks: 1, partial_acks_outside_faults: 0 });
    const justAfter = await judge([...partition(T0 - 3_000, T0 - 2_000), ...route(T0, { delivered: 0, partial: true }, 1)]);
    expect(justAfter.pass).toBe(true);
  });

  it("should fail a partial ack that no fault explains", async () => {
    const none = await judge(route(T0, { delivered: 0, partial: true }, 1));
    expect(none.pass).toBe(false);
    expect(none.actual).toMatchObject({ partial_acks: 1, partial_acks_outside_faults: 1 });
    const longAfter = await judge([...partition(T0 - 60_000, T0 - 50_000), ...route(T0, { delivered: 1, partial: true }, 1)]);
    expect(longAfter.pass).toBe(false);
  });
});
