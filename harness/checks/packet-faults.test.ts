import { describe, expect, it } from "vitest";
import type { Sample } from "../report/run-result.js";
import { allowedTcpCloses, judgePacketFault, MAX_SURVIVABLE_LOSS_PERCENT, survivableLossPercent, TCP_CLOSE_RISK_BUDGET, tcpCloseRisk, type PacketFaultInput } from "./packet-faults.js";

const T0 = 5_000_000;
const H = 1_000;

/** One sample a second from T0 - 1 s to T0 + 8 s: `clients` fleet sockets on gw-1, `records(t)` records naming it. */
function samples(clients: number, records: (t: number) => number = () => clients): Pick<Sample, "t" | "fleet" | "registry">[] {
  return Array.from({ length: 10 }, (_, i) => {
    const t = T0 - 1_000 + i * 1_000;
    return {
      t,
      fleet: { by_instance: { "gw-1": clients } } as unknown as Sample["fleet"],
      registry: { by_instance: { "gw-1": records(t) } } as unknown as Sample["registry"],
    };
  });
}

function input(overrides: Partial<PacketFaultInput> = {}): PacketFaultInput {
  return { instance: "gw-1", form: "loss", percent: MAX_SURVIVABLE_LOSS_PERCENT, appliedAt: T0, endedAt: T0 + 2_000, heartbeatIntervalMs: H, disconnects: [], samples: samples(30), ...overrides };
}

describe("judgePacketFault", () => {
  it("should pass when no socket closed unasked and every client kept its record", () => {
    // The ci profile's size: 30 clients for 2 s at heartbeat 1 s, 60 ping rounds, each lost if a segment is lost 3 times in a row.
    expect(judgePacketFault(input())).toMatchObject({ pass: true, actual: { tcp_close_risk: 0.03, allowed_unasked_closes: 0, unasked_closes: 0, samples_short: 0, clients_max: 30 } });
  });

  it("should fail on a socket closed unasked during the fault or within 2H of its heal, not after", () => {
    expect(judgePacketFault(input({ disconnects: [{ t: T0 + 2_000 + 2 * H, client: "c1", close_code: 1006 }] })).pass).toBe(false);
    expect(judgePacketFault(input({ disconnects: [{ t: T0 + 2_000 + 2 * H + 1, client: "c1", close_code: 1006 }] })).pass).toBe(true);
  });

  it("should fail on a sample with fewer records than clients on the instance", () => {
    const result = judgePacketFault(input({ samples: samples(30, (t) => (t === T0 + 2_000 ? 27 : 30)) }));
    expect(result).toMatchObject({ pass: false, actual: { samples_short: 1 } });
  });

  it("should allow a larger run at that loss the few closes its modelled risk explains, and fail more", () => {
    // 1,000 clients for 20 s at heartbeat 2 s and 5 %: 10,000 rounds, a pong late after 4 losses in a row (risk 0.25).
    const release = (closes: number, records = 1_000) =>
      judgePacketFault(
        input({
          endedAt: T0 + 20_000,
          heartbeatIntervalMs: 2_000,
          samples: samples(1_000, (t) => (t === T0 + 3_000 ? records : 1_000)),
          disconnects: Array.from({ length: closes }, (_, i) => ({ t: T0 + 1_000 + i, client: `c${i}`, close_code: 1006 })),
        }),
      );
    expect(release(1, 999)).toMatchObject({ pass: true, actual: { tcp_close_risk: 0.25, allowed_unasked_closes: 3, unasked_closes: 1, samples_short: 0 } });
    expect(release(3, 997).pass).toBe(true);
    expect(release(4)).toMatchObject({ pass: false, actual: { unasked_closes: 4 } });
    expect(release(0, 996)).toMatchObject({ pass: false, actual: { samples_short: 1 } });
    // The ci profile's size keeps none (above), as does any run the scenario sizes its loss for.
    expect(judgePacketFault(input({ percent: 3, endedAt: T0 + 20_000, heartbeatIntervalMs: 2_000, samples: samples(1_000), disconnects: [{ t: T0 + 1_000, client: "c1", close_code: 1006 }] })).pass).toBe(false);
  });

  it("should not judge loss above the bound, but still count what it did", () => {
    const result = judgePacketFault(input({ percent: 20, disconnects: [{ t: T0 + 1_000, client: "c1", close_code: 1006 }] }));
    expect(result).toMatchObject({ pass: true, actual: { unasked_closes: 1 } });
    expect(judgePacketFault(input({ form: "reorder", percent: 50, disconnects: [{ t: T0 + 1_000, client: "c1", close_code: 1006 }] })).pass).toBe(false);
  });

  it("should be inconclusive (failed) when the instance held no client", () => {
    expect(judgePacketFault(input({ samples: samples(0) }))).toMatchObject({ pass: false });
  });

  it("should be inconclusive (failed) when the instance's TCP counters show the fault did nothing", () => {
    const none = { retransmitted: 0, outOfOrder: 0, dsackSent: 0, dsackReceived: 0, reordersSeen: 0, heldBack: 0 };
    for (const form of ["loss", "duplicate", "reorder"]) expect(judgePacketFault(input({ form, percent: 5, tcp: none })).pass, form).toBe(false);
    expect(judgePacketFault(input({ tcp: { ...none, retransmitted: 3 } })).pass).toBe(true);
    expect(judgePacketFault(input({ form: "duplicate", tcp: { ...none, dsackSent: 1 } })).pass).toBe(true);
    expect(judgePacketFault(input({ form: "reorder", tcp: { ...none, heldBack: 9 } })).pass).toBe(true);
  });
});

describe("allowedTcpCloses", () => {
  it("should allow none within the budget and, above it, what a Poisson count of that mean exceeds once in a thousand", () => {
    expect([0, 0.03, TCP_CLOSE_RISK_BUDGET, Number.NaN].map(allowedTcpCloses)).toEqual([0, 0, 0, 0]);
    // Mean 0.25: P(X > 2) = 0.0022, P(X > 3) = 0.00013.
    expect(allowedTcpCloses(0.25)).toBe(3);
    expect(allowedTcpCloses(1)).toBe(5);
    // The normal approximation above a mean of 50 meets the exact count there.
    expect(allowedTcpCloses(50.1)).toBe(allowedTcpCloses(49.9));
    expect(allowedTcpCloses(1_000)).toBeGreaterThan(1_000);
    expect(allowedTcpCloses(1_000)).toBeLessThan(1_110);
  });
});

describe("survivableLossPercent", () => {
  it("should keep 5 % for the ci profile's size and lower the loss as the ping rounds grow", () => {
    // ci: 30 clients per instance, faults of 2 s, heartbeat 1 s (60 rounds; a pong is late after 3 losses in a row).
    expect(tcpCloseRisk({ percent: 5, clients: 30, faultMs: 2_000, heartbeatIntervalMs: 1_000 })).toBeCloseTo(0.03, 6);
    expect(survivableLossPercent({ clients: 30, faultMs: 2_000, heartbeatIntervalMs: 1_000 })).toBe(5);
    // release: 1,000 clients per instance, 20 s, heartbeat 2 s (10,000 rounds; 4 losses in a row: 200+400+800+1600 ms).
    expect(tcpCloseRisk({ percent: 5, clients: 1_000, faultMs: 20_000, heartbeatIntervalMs: 2_000 })).toBeCloseTo(0.25, 6);
    expect(survivableLossPercent({ clients: 1_000, faultMs: 20_000, heartbeatIntervalMs: 2_000 })).toBe(3);
    expect(tcpCloseRisk({ percent: 3, clients: 1_000, faultMs: 20_000, heartbeatIntervalMs: 2_000 })).toBeLessThanOrEqual(TCP_CLOSE_RISK_BUDGET);
    // Far larger runs get the floor of 1 %.
    expect(survivableLossPercent({ clients: 100_000, faultMs: 600_000, heartbeatIntervalMs: 1_000 })).toBe(1);
  });
});
