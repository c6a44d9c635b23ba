import { describe, expect, it } from "vitest";
import type { RunEvent } from "../report/run-result.js";
import type { CheckContext } from "./check.js";
import { delivery } from "./delivery.js";

/** The delivery check reads only the recorded events and its threshold. */
function judge(events: RunEvent[]) {
  return delivery({ events, thresholds: { minDeliveryRatio: 0.98 } } as unknown as CheckContext);
}

const fleet = (t: number, type: string, fields: Record<string, unknown>): RunEvent => ({ t, source: "fleet", type, client: "c1", ...fields });
const T0 = 1_000_000;

/** One route `m1`: sent, acked with `ack`, and received by `receivedBy` clients. */
function route(t: number, ack: Record<string, unknown>, receivedBy: number): RunEvent[] {
  return [
    fleet(t, "message_sent", { message_id: "m1" }),
    fleet(t + 5, "message_acked", { message_id: "m1", ...ack }),
    ...Array.from({ length: receivedBy }, (_, i) => ({ ...fleet(t + 3, "message_received", { message_id: "m1" }), client: `r${i}` })),
  ];
}

const partition = (start: number, end: number): RunEvent[] => [
  { t: start, source: "fault", type: "fault_start", fault_id: "f1", kind: "partition" },
  { t: end, source: "fault", type: "fault_end", fault_id: "f1", kind: "partition", ok: true },
];

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
