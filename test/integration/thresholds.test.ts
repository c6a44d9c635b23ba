import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RunResult } from "../../harness/report/run-result.js";
import { runScenario } from "../../harness/scenario/engine.js";
import { withThresholds } from "../fixtures/thresholds-scenario.js";

const SEED = 11;
const JUNIT_SCHEMA = resolve(import.meta.dirname, "../fixtures/junit.xsd");

/** For every metric: one bound no real run can meet (too tight) and one every healthy run meets. */
const TIGHT = {
  ack_latency: ["p99 < 0.001"],
  delivery_latency: ["p(95) < 0.001"],
  connect_latency: ["p99 < 0.001"],
  lookup_latency: ["max < 0.001"],
  reconnect_time: ["max < 0.001"],
  error_rate: ["rate < 0"],
  "error_rate{code:NOT_FOUND}": ["count > 1000000"],
} as const;
const LOOSE = {
  ack_latency: ["p99 < 60000"],
  delivery_latency: ["p(95) < 60000"],
  connect_latency: ["p99 < 60000"],
  lookup_latency: ["max < 60000"],
  reconnect_time: ["max < 60000"],
  error_rate: ["rate <= 1"],
  "error_rate{code:NOT_FOUND}": ["count == 0"],
} as const;

async function outDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "traffic-cop-thresholds-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const thresholdResults = (result: RunResult) => result.checks.filter((check) => check.name.startsWith("threshold: "));

describe.sequential("thresholds and baselines on real runs", { timeout: 120_000 }, () => {
  let first: { result: RunResult; json: string } | undefined;

  it("should fail the run (exit 1) on every threshold set too tight, and pass the loose ones", async () => {
    const merged = Object.fromEntries(Object.keys(TIGHT).map((key) => [key, [...TIGHT[key as keyof typeof TIGHT], ...LOOSE[key as keyof typeof LOOSE]]]));
    const run = await runScenario({ scenario: withThresholds(merged), seed: SEED, outDir: await outDir() });
    first = { result: run.result, json: await readFile(join(run.reportDir, "run.json"), "utf8") };
    const { result } = first;
    expect(result.error).toBeUndefined();
    const thresholds = thresholdResults(result);
    expect(thresholds).toHaveLength(14);
    const failed = thresholds.filter((check) => !check.pass).map((check) => check.name);
    expect(failed).toEqual([
      "threshold: ack p99 < 0.001 ms",
      "threshold: delivery p95 < 0.001 ms",
      "threshold: connect p99 < 0.001 ms",
      "threshold: lookup max < 0.001 ms",
      "threshold: reconnect max < 0.001 ms",
      "threshold: error rate rate < 0",
      "threshold: error rate NOT_FOUND count > 1000000",
    ]);
    for (const check of thresholds) expect(check.actual, check.name).not.toBe("no data");
    expect(result.checks.filter((check) => !check.name.startsWith("threshold: ")).every((check) => check.pass)).toBe(true);
    expect(result).toMatchObject({ status: "failed", exit_code: 1 });
    // One JUnit testcase per check and per threshold, in a file the common schema accepts.
    const junit = join(run.reportDir, "junit.xml");
    await promisify(execFile)("xmllint", ["--noout", "--schema", JUNIT_SCHEMA, junit]);
    const xml = await readFile(junit, "utf8");
    expect(xml.match(/<testcase /g)).toHaveLength(result.checks.length);
    expect(xml).toContain('name="threshold: ack p99 &#60; 0.001 ms"');
  });

  it("should stop the run on an abortOnFail breach as failed (exit 1), and fail a baseline regression", async () => {
    expect(first, "the first run").toBeDefined();
    const baseline = JSON.parse(first!.json) as RunResult;
    // A baseline whose route acks took 0.001 ms, and no absolute slack (by default a percentile may be 5 ms worse
    // whatever the ratio, and this fixture's acks now and then stay under 5 ms): this run regresses on them.
    const ack = (baseline.fleet_summary as { latency: { ack: Record<string, number> } }).latency.ack;
    for (const p of ["p50", "p90", "p99", "max"]) ack[p] = 0.001;
    const dir = await outDir();
    const baselinePath = join(dir, "baseline.json");
    await writeFile(baselinePath, JSON.stringify(baseline));
    const started = Date.now();
    const { result } = await runScenario({
      scenario: withThresholds({ ack_latency: [{ threshold: "p50 < 0.001", abortOnFail: true, delayAbortEvalMs: 0 }] }, { latencyDeltaMs: 0 }),
      seed: SEED,
      outDir: dir,
      baseline: baselinePath,
    });
    expect(result).toMatchObject({ status: "failed", exit_code: 1 });
    expect(result.error).toBeUndefined();
    const [breached] = thresholdResults(result);
    expect(breached).toMatchObject({ name: "threshold: ack p50 < 0.001 ms", pass: false, evidence: { abort_on_fail: true } });
    expect((breached!.evidence as { aborted_run_at_ms?: number }).aborted_run_at_ms).toBeGreaterThan(0);
    // Stopped at the first breach: the checks never ran, and the run ended well before its planned length.
    expect(result.checks.some((check) => check.name === "no-ghosts")).toBe(false);
    expect(result.events.filter((event) => event.source === "engine" && event.type === "step_end").length).toBeLessThan(result.plan.length);
    expect(Date.now() - started).toBeLessThan(first!.result.duration_ms + 5_000);
    const regressions = result.checks.filter((check) => check.name.startsWith("baseline: ") && !check.pass).map((check) => check.name);
    expect(regressions).toContain("baseline: ack p99 within 1.5× baseline");
    expect(result.baseline).toMatchObject({ path: baselinePath, run_id: first!.result.run_id });
  });
});
