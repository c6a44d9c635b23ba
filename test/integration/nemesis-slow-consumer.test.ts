import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { judgeSlowConsumers } from "../../harness/checks/slow-consumer.js";
import { FaultRunner, type FaultEvent, type ResolvedFault } from "../../harness/faults/fault-runner.js";
import { Fault } from "../../harness/faults/fault.js";
import { runSlowConsumers, type SlowConsumerStats } from "../../harness/load/slow-consumers.js";
import { LocalRuntime } from "../../harness/runtime/local-runtime.js";

/**
 * Slow consumers: stalled readers next to a reader that keeps up, on the reference gateway with a 1 MiB
 * `MAX_BUFFERED_BYTES` (small, so that the run is short). `slow-consumer` must pass on the reference gateway and
 * fail with the failpoint `unbounded-send-buffer`.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * 2 stalled clients, 60 kB messages at 200/s for 10 s: 120 MB for each stalled client, past the kernel's buffers
 * (36 MiB) plus the bound more than three times over (a loaded CI machine got every route of the fault through, at
 * twice this rate). The reader, in the test's own process, must keep up with 12 MB/s instead of 24 MB/s on a
 * loaded machine: a client that falls behind by what the stalled ones hold when they are shed (1.6-1.7 s of the
 * stream after they stop reading, at either rate) is shed too, and the test process also moves a third of the bytes.
 */
const FAULT = Fault.slowConsumers({ target: "gw-1", consumers: 2, messageBytes: 60_000, ratePerSecond: 200, durationMs: 10_000 });

async function runFault(defects?: string): Promise<{ stats: SlowConsumerStats; events: FaultEvent[] }> {
  const runtime = await new LocalRuntime({
    runId: `test-slow-${randomBytes(3).toString("hex")}`,
    instances: 1,
    // A stalled reader answers no ping either, so the heartbeat also terminates it as half-open: H to 2H after it
    // stalls (pinged within a period, as its slice of the heartbeat comes round, and judged a period after that
    // ping). H = 20 s, longer than the fault (10 s), isolates the buffer bound; the TTL is at least 2H.
    connectionTtlMs: 40_000,
    heartbeatIntervalMs: 20_000,
    env: { MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES), ...(defects ? { TRAFFIC_COP_DEFECTS: defects } : {}) },
  }).start();
  onTestFinished(() => runtime.stop());
  const events: FaultEvent[] = [];
  const runner = new FaultRunner({
    target: runtime,
    onEvent: (e) => events.push(e),
    slowConsumers: ({ target, ...rest }) => {
      const instance = runtime.instance(target);
      return runSlowConsumers({ wsUrl: instance.wsUrl, httpUrl: instance.httpUrl, authSecret: runtime.authSecret, ...(instance.pid !== undefined ? { pid: instance.pid } : {}), ...rest }) as unknown as Promise<Record<string, unknown>>;
    },
  });
  const end = await runner.run({ ...FAULT, targets: ["gw-1"] } as ResolvedFault);
  expect(end).toMatchObject({ type: "fault_end", kind: "slow_consumers", ok: true });
  const stats = (end.detail!.consumers as Record<string, SlowConsumerStats>)["gw-1"]!;
  return { stats, events };
}

describe("slow consumers (Fault.slowConsumers, check slow-consumer)", { timeout: 90_000 }, () => {
  it("should shed the stalled clients with the buffer bounded and keep serving the reader", async () => {
    const { stats, events } = await runFault();
    expect(events.map((e) => e.type)).toEqual(["fault_start", "fault_applied", "fault_end"]);
    const verdict = judgeSlowConsumers(stats, { maxBufferedBytes: MAX_BUFFERED_BYTES });
    console.log("slow-consumer (reference)", JSON.stringify(verdict.actual), JSON.stringify(stats));
    expect(verdict.pass, JSON.stringify(verdict.evidence)).toBe(true);
    expect(stats.gateway.slow_consumers_total).toBe(2);
    expect(stats.reader.closed_code).toBeNull();
  });

  it("should fail with unbounded-send-buffer", async () => {
    const { stats } = await runFault("unbounded-send-buffer");
    const verdict = judgeSlowConsumers(stats, { maxBufferedBytes: MAX_BUFFERED_BYTES });
    console.log("slow-consumer (unbounded-send-buffer)", JSON.stringify(verdict.actual), JSON.stringify(stats));
    expect(verdict.pass).toBe(false);
    expect(stats.stalled.kept).toBe(2);
    expect(stats.gateway.send_buffer_max_bytes).toBeGreaterThan(MAX_BUFFERED_BYTES + 61_024);
  });
});
