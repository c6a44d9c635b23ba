import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { MarkdownSummaryReporter, markdownCell, renderSummaryMarkdown, renderSummaryText, summaryRows } from "./run-summary.js";
import type { RunResult } from "./run-result.js";

const HOSTILE = "\u001b[2J\u001b]0;owned\u0007 | <img src=x onerror=alert(1)> `code` *b* [l](http://x) \\ \n# h \uD800 🚀";

function run(overrides: Partial<RunResult> = {}): RunResult {
  return {
    run_id: "restart-20261203-060000Z-ab12",
    scenario: "restart",
    status: "failed",
    exit_code: 1,
    seed: 42,
    profile: "ci",
    duration_ms: 12_345,
    checks: [
      { name: "restart-survival", pass: true, expected: "all", actual: { resumed: 150, lost: 0 }, evidence: {} },
      { name: "threshold: ack_latency p99 < 250", pass: false, expected: "< 250", actual: "412.5 ms", evidence: {} },
      { name: `no-ghosts ${HOSTILE}`, pass: false, expected: 0, actual: { reason: HOSTILE }, evidence: {} },
    ],
    error: { code: "HARNESS_ERR_PROCESS_EXITED", message: HOSTILE },
    ...overrides,
  } as RunResult;
}

describe("summaryRows", () => {
  it("should give one row per named result plus the harness error, with the key figure", () => {
    const rows = summaryRows(run());
    expect(rows.map((row) => row.verdict)).toEqual(["pass", "FAIL", "FAIL", "ERROR"]);
    expect(rows[0]!.figure).toBe("resumed=150 lost=0");
    expect(summaryRows({ checks: [{ name: "x", pass: true, expected: 0, actual: { ghosts: {} }, evidence: {} }] })[0]!.figure).toBe('{"ghosts":{}}');
    expect(rows[1]!.figure).toBe("412.5 ms");
  });
});

describe("renderSummaryText", () => {
  it("should leave no control character of the SUT's text in the terminal output", () => {
    const text = renderSummaryText(run());
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).not.toMatch(/\p{Cs}/u);
    expect(text).toContain("\\u{1b}[2J");
    expect(text.split("\n")[0]).toBe("restart: failed (exit 1), seed 42, profile ci, 12.3 s");
    expect(text).toMatch(/threshold: ack_latency p99 < 250\s+FAIL\s+412\.5 ms/);
  });
});

describe("the harness-stall warning", () => {
  const stalled = (status: RunResult["status"]) =>
    run({
      status,
      config: { resolved_profile: { heartbeatIntervalMs: 1_000 } },
      events: [{ t: 2_000, source: "probe", type: "harness_stall", from: 500, duration_ms: 1_500, client_path: true }],
    });

  it("should follow a run that did not pass when the harness stalled for a heartbeat period, in text and Markdown", () => {
    expect(renderSummaryText(stalled("failed"))).toMatch(/\nwarning: the harness's own event loop stood still once .*longest 1500 ms/);
    expect(renderSummaryMarkdown(stalled("failed"))).toContain("⚠️ the harness's own event loop stood still once");
  });

  it("should be absent from a passed run and from a run whose stalls were shorter than the heartbeat", () => {
    expect(renderSummaryText(stalled("passed"))).not.toContain("warning");
    const short = stalled("failed");
    (short.config as { resolved_profile: { heartbeatIntervalMs: number } }).resolved_profile.heartbeatIntervalMs = 2_000;
    expect(renderSummaryText(short)).not.toContain("warning");
  });
});

describe("renderSummaryMarkdown", () => {
  it("should keep every row at three cells and render no HTML, link or heading from the SUT's text", () => {
    const markdown = renderSummaryMarkdown(run());
    const rows = markdown.split("\n").filter((line) => line.startsWith("| "));
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.split(/(?<!\\)\|/)).toHaveLength(5);
    expect(markdown).not.toMatch(/<img|\]\(http|\n# h|\u001b/);
    expect(markdown).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("should escape each Markdown character so it shows as itself", () => {
    expect(markdownCell("a|b`c*d_e[f]g<h>&\\")).toBe("a\\|b\\`c\\*d\\_e\\[f\\]g&lt;h&gt;&amp;\\\\");
  });

  it("should append to the summary file, one section per run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "summary-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "step-summary.md");
    await writeFile(file, "earlier step\n");
    const reporter = new MarkdownSummaryReporter(file);
    await reporter.onRunEnd(run());
    await reporter.onRunEnd(run({ status: "passed", exit_code: 0, checks: [], error: undefined as never }));
    const text = await readFile(file, "utf8");
    expect(text.startsWith("earlier step\n### restart: failed (exit 1)")).toBe(true);
    expect(text).toContain("### restart: passed (exit 0)");
  });
});
