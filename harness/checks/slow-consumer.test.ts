import { describe, expect, it } from "vitest";
import type { SlowConsumerStats } from "../load/slow-consumers.js";
import { judgeSlowConsumers, kernelBufferSlackBytes } from "./slow-consumer.js";

/** A fault a bounded gateway passed: both stalled clients shed, the reader served to the end. */
function passingStats(): SlowConsumerStats {
  const routes = Math.ceil((kernelBufferSlackBytes() + 8 * 1024 * 1024) / 60_000);
  return {
    session_id: "slow-1",
    consumers: 2,
    message_bytes: 60_000,
    routes_acked: routes,
    route_errors: 0,
    bytes_per_consumer: routes * 60_000,
    reader: { received: routes, lost: 0, duplicates: 0, closed_code: null },
    stalled: { shed: 2, kept: 0, first_shed_ms: 1_500, last_shed_ms: 1_500, close_codes: { "1006": 2 } },
    gateway: { send_buffer_max_bytes: 4 * 1024 * 1024, slow_consumers_total: 2, rss_start_bytes: 70e6, rss_max_bytes: 130e6 },
  };
}

describe("judgeSlowConsumers", () => {
  it("passes a bounded gateway that shed the stalled clients and kept serving the reader", () => {
    const verdict = judgeSlowConsumers(passingStats());
    expect(verdict.pass, JSON.stringify(verdict.evidence)).toBe(true);
  });

  it("fails as inconclusive when the reader itself was shed (4008): the harness did not keep up", () => {
    const stats = passingStats();
    stats.reader.closed_code = 4008;
    const verdict = judgeSlowConsumers(stats);
    expect(verdict.pass).toBe(false);
    expect((verdict.evidence as { failures: string[] }).failures).toEqual([expect.stringMatching(/^inconclusive: the reader itself was shed as a slow consumer \(4008\)/)]);
  });

  it("fails when the reader was closed with another code during the fault", () => {
    const stats = passingStats();
    stats.reader.closed_code = 1011;
    const verdict = judgeSlowConsumers(stats);
    expect(verdict.pass).toBe(false);
    expect((verdict.evidence as { failures: string[] }).failures).toEqual(["the reader was closed (code 1011) during the fault"]);
  });
});
