import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { renderJunit } from "./junit-reporter.js";
import { RUN_RESULT_SCHEMA_VERSION, type RunResult } from "./run-result.js";

const run = promisify(execFile);
const SCHEMA = resolve(import.meta.dirname, "../../test/fixtures/junit.xsd");
/** What a gateway may put into an error message or a label: ESC, NUL, CDATA end, markup, an emoji, a lone surrogate. */
const HOSTILE = "gw\u001b[31mred\u0000 ]]> <b>&amp;\"'\t🚀 \uD800 end\uFFFF";

/** Runs `xmllint --schema`; resolves with its exit code and stderr (xmllint exits 3 or 1 on invalid input). */
async function xmllint(xml: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), "junit-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "junit.xml");
  await writeFile(file, xml);
  try {
    const { stdout, stderr } = await run("xmllint", ["--noout", "--schema", SCHEMA, ...extra, file]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("xmllint is missing: apt-get install -y libxml2-utils", { cause: error });
    return { code: Number(e.code), stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function xpath(xml: string, expression: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "junit-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "junit.xml");
  await writeFile(file, xml);
  return (await run("xmllint", ["--xpath", expression, file])).stdout.replace(/\n$/, "");
}

function runResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    schema_version: RUN_RESULT_SCHEMA_VERSION,
    run_id: `restart-${HOSTILE}`,
    scenario: "restart",
    description: HOSTILE,
    status: "failed",
    exit_code: 1,
    started_at: "2026-12-03T06:00:00.000Z",
    ended_at: "2026-12-03T06:00:12.345Z",
    duration_ms: 12_345,
    seed: 7,
    profile: "ci",
    config: {},
    topology: {},
    plan: [],
    phases: [],
    events: [],
    samples: [],
    checks: [
      { name: "restart-survival", pass: true, expected: "all resume", actual: { resumed: 150 }, evidence: {}, duration_ms: 12 },
      { name: `no-ghosts ${HOSTILE}`, pass: false, expected: 0, actual: { reason: HOSTILE }, evidence: { output: HOSTILE } },
      { name: "threshold: ack p99 < 250 ms", pass: false, expected: "< 250 ms", actual: 412.5, evidence: {} },
      { name: "baseline: check delivery", pass: true, expected: "pass", actual: "pass", evidence: {} },
    ],
    error: { code: "HARNESS_ERR_PROCESS_EXITED", message: `gateway said: ${HOSTILE}` },
    ...overrides,
  };
}

describe("renderJunit", () => {
  it("should give a file that validates against the Jenkins JUnit schema, however hostile the text", async () => {
    const xml = renderJunit(runResult(), { hostname: `host ${HOSTILE}` });
    const { code, stderr } = await xmllint(xml);
    expect(stderr).toContain("validates");
    expect(code).toBe(0);
  });

  it("should keep the readable part of hostile text and mark what XML cannot hold", async () => {
    const xml = renderJunit(runResult(), { hostname: "ci-runner-1" });
    const name = await xpath(xml, "string(//testcase[2]/@name)");
    expect(name).toBe("no-ghosts gw\\u{1b}[31mred\\u{0} ]]> <b>&amp;\"'\t🚀 \\u{d800} end\\u{ffff}");
    expect(await xpath(xml, "string(//testsuite/@hostname)")).toBe("ci-runner-1");
    expect(await xpath(xml, "string(//testcase[@name='harness']/error)")).toContain("]]> <b>&amp;");
  });

  it("should give one testcase per check, threshold and baseline result, plus the harness error", async () => {
    const xml = renderJunit(runResult());
    expect(await xpath(xml, "count(//testcase)")).toBe("5");
    expect(await xpath(xml, "string(//testsuite/@failures)")).toBe("2");
    expect(await xpath(xml, "string(//testsuite/@errors)")).toBe("1");
    expect(await xpath(xml, "string(//testcase[@name='threshold: ack p99 < 250 ms']/failure/@type)")).toBe("threshold");
  });

  it("should let the validator fail: raw control characters and a testcase without a name are rejected", async () => {
    const valid = renderJunit(runResult({ checks: [], error: undefined as never }), { hostname: "h" });
    expect((await xmllint(valid)).code).toBe(0);
    expect((await xmllint(valid.replace("<properties>", "<testcase/><properties>"))).code).not.toBe(0);
    expect((await xmllint(valid.replace('name="restart"', 'name="re\u001bstart"'))).code).not.toBe(0);
  });
});
