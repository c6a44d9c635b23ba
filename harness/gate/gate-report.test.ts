import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { gateVerdict, type GateResult, type GateRow, type GateRun } from "./gate-result.js";
import { renderGateJunit, renderGateTable, writeGateReport } from "./gate-report.js";

const execFileAsync = promisify(execFile);
const SCHEMA = resolve(import.meta.dirname, "../../test/fixtures/junit.xsd");

function run(scenario: string, defect: string | null, failed: string[], status: GateRun["status"] = failed.length > 0 ? "failed" : "passed"): GateRun {
  return { scenario, defect, run_id: `g-${defect ?? "reference"}-${scenario}`, status, exit_code: status === "passed" ? 0 : status === "failed" ? 1 : 2, failed_checks: failed, duration_ms: 4_200, report_dir: `/tmp/gate/runs/g-${defect ?? "reference"}-${scenario}` };
}

function gate(): GateResult {
  const reference = [{ ...run("lookup", null, []), load_average: { start: 3.25, end: 27.5 } }, run("tenants", null, [])];
  const matrix: GateRow[] = [
    {
      defect: "dup-remote",
      behaviour: "delivers <twice> & counts once",
      must_fail: "delivery",
      cells: [
        { scenario: "lookup", outcome: "caught", run: run("lookup", "dup-remote", ["delivery"]) },
        { scenario: "tenants", outcome: "not-run" },
      ],
      caught_by: { scenario: "lookup", checks: ["delivery"] },
    },
    {
      defect: "ignore-nbf",
      behaviour: "accepts tokens before their nbf",
      must_fail: "gateway-protocol test",
      cells: [
        { scenario: "lookup", outcome: "escaped", run: run("lookup", "ignore-nbf", []) },
        { scenario: "tenants", outcome: "error", run: { ...run("tenants", "ignore-nbf", [], "error"), error: { code: "HARNESS_ERR_PROCESS_EXITED", message: "gw-1 exited\u001b" } } },
      ],
      caught_by: null,
    },
  ];
  return { gate_id: "g", started_at: "2026-12-03T08:00:00.000Z", duration_ms: 12_600, seed: 7, full: false, jobs: 1, scenarios: ["lookup", "tenants"], defects: ["dup-remote", "ignore-nbf"], reference, matrix, ...gateVerdict(reference, matrix, false) };
}

describe("gate report", () => {
  it("should fail the gate when a defect escapes, and name it", () => {
    const result = gate();
    expect(result.verdict).toEqual({ pass: false, reference_failures: [], escaped: ["ignore-nbf"] });
    expect(result.exit_code).toBe(1);
    const table = renderGateTable(result);
    expect(table).toMatch(/^dup-remote +delivery +· +caught$/m);
    expect(table).toMatch(/^ignore-nbf +escaped +error HARNESS_ERR_PROCESS_EXITED +ESCAPED$/m);
    expect(table).toContain("gate FAILED: 1 of 2 defects caught; escaped: ignore-nbf");
  });

  it("should fail the gate when the unbroken gateway fails a scenario, and exit 2 when a run could not run", () => {
    expect(gateVerdict([run("lookup", null, ["no-ghosts"])], [], false)).toEqual({ verdict: { pass: false, reference_failures: ["lookup"], escaped: [] }, exit_code: 1 });
    expect(gateVerdict([run("lookup", null, [], "error")], [], false).exit_code).toBe(2);
    expect(gateVerdict([run("lookup", null, [])], [], true)).toEqual({ verdict: { pass: false, reference_failures: [], escaped: [], aborted: true }, exit_code: 2 });
    expect(gateVerdict([run("lookup", null, [])], [], false)).toEqual({ verdict: { pass: true, reference_failures: [], escaped: [] }, exit_code: 0 });
  });

  it("should write gate.json, gate.md and a junit.xml that validates against the Jenkins JUnit schema", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gate-report-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const result = { ...gate(), matrix: gate().matrix.map((row) => ({ ...row, cells: row.cells.map((cell) => (cell.run ? { ...cell, run: { ...cell.run, report_dir: join(dir, "runs", cell.run.run_id) } } : cell)) })) };
    const files = await writeGateReport(result, dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(["gate.json", "gate.md", "junit.xml"]);
    expect(JSON.parse(await readFile(files[0]!, "utf8"))).toEqual(result);
    const md = await readFile(files[1]!, "utf8");
    // The load the unbroken runs ran under, to judge a red gate by (unknown: a dash).
    expect(md).toMatch(/^\| \[lookup\]\(.*\) \| passed \| – \| 4\.2 s \| 3\.3 → 27\.5 \|$/m);
    expect(md).toMatch(/^\| \[tenants\]\(.*\) \| passed \| – \| 4\.2 s \| – \|$/m);
    expect(md).toContain("| `dup-remote` | [delivery](runs/g-dup-remote-lookup/index.html) | · | caught |");
    expect(md).toContain("| `ignore-nbf` | [escaped](runs/g-ignore-nbf-lookup/index.html) |");
    const { stderr } = await execFileAsync("xmllint", ["--noout", "--schema", SCHEMA, files[2]!]);
    expect(stderr).toContain("validates");
    const xml = renderGateJunit(result);
    expect(xml).toContain('<testcase classname="gate.sensitivity" name="ignore-nbf"');
    expect(xml).toMatch(/<testsuite name="gate.sensitivity" tests="2" failures="1" errors="0"/);
  });
});
