import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Reporter } from "./reporter.js";
import type { RunResult } from "./run-result.js";

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** Renders JUnit XML: one testsuite per run, one testcase per check (a harness error is one errored testcase). */
export function renderJunit(result: RunResult): string {
  const cases = result.checks.map((check) => {
    const body = check.pass
      ? ""
      : `<failure message="${xml(`${check.name} failed`)}" type="check">${xml(JSON.stringify({ expected: check.expected, actual: check.actual, evidence: check.evidence }, null, 2))}</failure>`;
    return `    <testcase classname="${xml(`scenario.${result.scenario}`)}" name="${xml(check.name)}" time="${((check.duration_ms ?? 0) / 1000).toFixed(3)}">${body}</testcase>`;
  });
  if (result.error) {
    cases.push(`    <testcase classname="${xml(`scenario.${result.scenario}`)}" name="harness"><error message="${xml(result.error.message.slice(0, 500))}" type="${xml(result.error.code ?? "error")}">${xml(result.error.message)}</error></testcase>`);
  }
  const failures = result.checks.filter((check) => !check.pass).length;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="traffic-cop" tests="${cases.length}" failures="${failures}" errors="${result.error ? 1 : 0}" time="${(result.duration_ms / 1000).toFixed(3)}">
  <testsuite name="${xml(result.scenario)}" tests="${cases.length}" failures="${failures}" errors="${result.error ? 1 : 0}" timestamp="${xml(result.started_at)}" time="${(result.duration_ms / 1000).toFixed(3)}">
    <properties><property name="run_id" value="${xml(result.run_id)}"/><property name="seed" value="${result.seed}"/><property name="profile" value="${xml(result.profile)}"/></properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}

/** Writes `junit.xml` from the run.json already written in the same directory. */
export class JunitReporter implements Reporter {
  readonly name = "junit";
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async onRunEnd(_result: RunResult): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true });
    const result = JSON.parse(await readFile(join(this.#dir, "run.json"), "utf8")) as RunResult;
    const file = join(this.#dir, "junit.xml");
    await writeFile(file, renderJunit(result));
    return [file];
  }
}
