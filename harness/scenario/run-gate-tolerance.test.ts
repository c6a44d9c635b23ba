import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { SYSTEM_CLOCK } from "../common/clock.js";
import type { SideBySide } from "../report/baseline-comparison.js";
import { RunGate } from "./run-gate.js";

const summary = (p99: number) => ({ latency: { ack: { count: 10, p50: 2, p90: 3, p99, max: p99 } }, messages: { sent: 100, errors: 0 } });

async function judge(toleranceRatio?: number) {
  const dir = mkdtempSync(join(tmpdir(), "run-gate-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "run.json");
  writeFileSync(path, JSON.stringify({ run_id: "before", checks: [{ name: "delivery", pass: true }], duration_ms: 1_000, fleet_summary: summary(100) }));
  const gate = new RunGate({ clock: SYSTEM_CLOCK, baselinePath: path, ...(toleranceRatio !== undefined ? { toleranceRatio } : {}) });
  const checks = [{ name: "delivery", pass: true, expected: null, actual: null, evidence: null }];
  const verdict = await gate.finish({ status: "passed", error: undefined, checks, durationMs: 1_000, fleetSummary: summary(180) });
  return { verdict, checks, side: verdict.baseline?.side_by_side as SideBySide };
}

describe("RunGate --baseline-tolerance", () => {
  it("should judge with the default 1.5× and fail a p99 1.8× the baseline's", async () => {
    const { verdict, checks, side } = await judge();
    expect(verdict.status).toBe("failed");
    expect(checks.find((c) => c.name === "baseline: ack p99 within 1.5× baseline")?.pass).toBe(false);
    expect(side.tolerance.latencyRatio).toBe(1.5);
  });

  it("should judge with the ratio given on the command line instead", async () => {
    const { verdict, checks, side } = await judge(2);
    expect(verdict.status).toBe("passed");
    expect(checks.find((c) => c.name === "baseline: ack p99 within 2× baseline")?.pass).toBe(true);
    expect(side.tolerance).toMatchObject({ latencyRatio: 2, rateRatio: 2 });
    expect(side.figures.find((f) => f.name === "ack p99")).toMatchObject({ now: 180, baseline: 100, ratio: 1.8, max_ratio: 2, pass: true, gated: true });
  });
});
