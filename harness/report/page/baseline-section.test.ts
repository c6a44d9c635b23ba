import { describe, expect, it } from "vitest";
import { compareWithBaseline } from "../baseline-comparison.js";
import type { CheckResult } from "../run-result.js";
import { renderBaseline } from "./baseline-section.js";

const check = (name: string, pass: boolean): CheckResult => ({ name, pass, expected: null, actual: null, evidence: null });
const latency = (p50: number, p99: number) => ({ count: 10, p50, p90: p50 * 2, p99, max: p99 * 2 });
const TOLERANCE = { latencyRatio: 1.5, latencyDeltaMs: 5, rateRatio: 2, rateDelta: 0.001 };

describe("baseline section", () => {
  const now = { checks: [check("delivery", false), check("threshold: ack p99 < 250 ms", true)], duration_ms: 20_000, fleet_summary: { latency: { ack: latency(4, 300) }, messages: { sent: 1_000, errors: 30 } } };
  const before = { run_id: "r0", checks: [check("delivery", true), check("threshold: ack p99 < 250 ms", true), check("no-ghosts", true)], duration_ms: 10_000, fleet_summary: { latency: { ack: latency(2, 100) }, messages: { sent: 1_000, errors: 10 } } };
  const html = renderBaseline({ baseline: { path: "base/run.json", ...compareWithBaseline(now, before, TOLERANCE) } });

  it("should show every check and threshold of both runs side by side", () => {
    const table = /<table class="side-by-side" id="baseline-checks">(.*?)<\/table>/.exec(html)?.[1] ?? "";
    expect(table).toContain(`<tr class="regression"><th>delivery</th><td><span class="pill pass">pass</span></td><td><span class="pill fail">FAIL</span></td></tr>`);
    expect(table).toContain(`<th>threshold: ack p99 &lt; 250 ms</th><td><span class="pill pass">pass</span></td><td><span class="pill pass">pass</span></td>`);
    expect(table).toContain(`<th>no-ghosts</th><td><span class="pill pass">pass</span></td><td>–</td>`);
  });

  it("should show the key figures of both runs with their ratio, the tolerance and the verdict", () => {
    const table = /<table class="side-by-side" id="baseline-figures">(.*?)<\/table>/.exec(html)?.[1] ?? "";
    // p50 4 ms vs 2 ms: 2× the baseline but only 2 ms above it, within the 5 ms slack.
    expect(table).toContain(`<th>ack p50</th><td>2 ms</td><td>4 ms</td><td class="worse">2×</td><td>≤ 1.5× or +5 ms</td><td><span class="pill pass">pass</span></td>`);
    expect(table).toContain(`<th>ack p99</th><td>100 ms</td><td>300 ms</td><td class="worse">3×</td><td>≤ 1.5× or +5 ms</td><td><span class="pill fail">FAIL</span></td>`);
    expect(table).toContain(`<th>ack max</th><td>200 ms</td><td>600 ms</td><td class="worse">3×</td><td>≤ 1.5× or +5 ms</td><td><span class="note">not gated</span></td>`);
    expect(table).toContain(`<th>error rate</th><td>0.01</td><td>0.03</td><td class="worse">3×</td><td>≤ 2× or +0.001</td><td><span class="pill fail">FAIL</span></td>`);
    expect(html).toContain(`a latency percentile may be 1.5× the baseline's (or up to 5 ms above it), the error rate 2× (or up to 0.001 above it)`);
  });

  it("should leave the side-by-side tables out for a comparison made without a tolerance", () => {
    const older = renderBaseline({ baseline: { path: "b", ...compareWithBaseline(now, before) } });
    expect(older).toContain("Baseline comparison");
    expect(older).not.toContain("side-by-side");
  });
});
