import { mkdir, writeFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { recordAsWritten } from "./json-reporter.js";
import type { Reporter } from "./reporter.js";
import type { CheckResult, RunResult } from "./run-result.js";
import { xmlAttribute as attr, xmlText as text } from "./xml-text.js";

/** Longest `message` attribute of a failure or error; the full text is the element's body. */
const MAX_MESSAGE_CHARS = 500;

/** Options of {@link renderJunit}. */
export interface RenderJunitOptions {
  /** The testsuite's `hostname`. @default the machine's host name */
  hostname?: string;
}

/** `check`, `threshold` or `baseline`: the kind of named result, from its name's prefix (`threshold: ack p99 < 250 ms`). */
export function resultKind(check: Pick<CheckResult, "name">): "check" | "threshold" | "baseline" | "step" {
  const prefix = /^(threshold|baseline|step): /.exec(check.name)?.[1];
  return (prefix as "threshold" | "baseline" | "step" | undefined) ?? "check";
}

function seconds(ms: number | undefined): string {
  return (Math.max(0, ms ?? 0) / 1000).toFixed(3);
}

function testcase(result: RunResult, check: CheckResult): string {
  const kind = resultKind(check);
  const open = `    <testcase classname="${attr(`scenario.${result.scenario}`)}" name="${attr(check.name)}" time="${seconds(check.duration_ms)}">`;
  if (check.pass) return `${open}</testcase>`;
  const actual = JSON.stringify(check.actual) ?? "undefined";
  const message = `${check.name} failed: expected ${JSON.stringify(check.expected)}, got ${actual}`.slice(0, MAX_MESSAGE_CHARS);
  const body = JSON.stringify({ expected: check.expected, actual: check.actual, evidence: check.evidence }, null, 2) ?? "";
  return `${open}<failure message="${attr(message)}" type="${kind}">${text(body)}</failure></testcase>`;
}

/**
 * Renders JUnit XML (the Ant/Surefire format Jenkins' `junit-10.xsd` describes): one testsuite per run, one
 * testcase per named result of the run (each check, each threshold, each baseline comparison, each failed step),
 * and a harness error as one errored testcase. Any text, however hostile, is made valid XML 1.0.
 */
export function renderJunit(result: RunResult, options: RenderJunitOptions = {}): string {
  const cases = result.checks.map((check) => testcase(result, check));
  if (result.error) {
    cases.push(
      `    <testcase classname="${attr(`scenario.${result.scenario}`)}" name="harness"><error message="${attr(result.error.message.slice(0, MAX_MESSAGE_CHARS))}" type="${attr(result.error.code ?? "error")}">${text(result.error.message)}</error></testcase>`,
    );
  }
  const failures = result.checks.filter((check) => !check.pass).length;
  const errors = result.error ? 1 : 0;
  const time = seconds(result.duration_ms);
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="traffic-cop" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time}">
  <testsuite name="${attr(result.scenario)}" tests="${cases.length}" failures="${failures}" errors="${errors}" timestamp="${attr(result.started_at)}" time="${time}" hostname="${attr(options.hostname ?? osHostname())}">
    <properties><property name="run_id" value="${attr(result.run_id)}"/><property name="seed" value="${result.seed}"/><property name="profile" value="${attr(result.profile)}"/></properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}

/** Writes `junit.xml` from the run's record as run.json holds it ({@link recordAsWritten}: not parsed back from the file). */
export class JunitReporter implements Reporter {
  readonly name = "junit";
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async onRunEnd(result: RunResult): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, "junit.xml");
    await writeFile(file, renderJunit(recordAsWritten(result)));
    return [file];
  }
}
