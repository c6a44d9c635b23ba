import { readFileSync } from "node:fs";
import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints, at the end of `npm test`, where the time went: the test files' summed durations per part of the suite
 * (unit, integration, scenarios, containers, gate), the wall time of the whole vitest run, and per group of
 * vitest.config.ts (its projects) the wall time from its first file's start to its last file's end with the share
 * of the machine's CPU that was busy meanwhile (Linux's /proc/stat; left out where it cannot be read) and its last
 * three files to end, each with its start and end. Files run `maxWorkers` at a time, so the sums add up to several
 * times the wall time; the shares are what to compare across runs, and a group whose CPU stays far from busy is one
 * that waits (TTLs, drains, process and container starts).
 * `.ci/run` prints the phases around it (install, images; the typecheck runs beside vitest, test/npm-test.mjs).
 */
export default class CiTimingReporter implements Reporter {
  private startedAt = 0;
  private readonly groups = new Map<string, GroupSpan>();
  /** Start and end of each file, ms since the run's start, by module id. */
  private readonly files = new Map<string, { group: string; from: number; to: number }>();

  onTestRunStart(): void {
    this.startedAt = Date.now();
  }

  onTestModuleStart(testModule: TestModule): void {
    const name = testModule.project.name || "default";
    this.files.set(testModule.moduleId, { group: name, from: Date.now() - this.startedAt, to: 0 });
    if (!this.groups.has(name)) this.groups.set(name, { startedAt: Date.now(), startCpu: cpuTicks(), endedAt: 0, endCpu: undefined });
  }

  onTestModuleEnd(testModule: TestModule): void {
    const file = this.files.get(testModule.moduleId);
    if (file) file.to = Date.now() - this.startedAt;
    const group = this.groups.get(testModule.project.name || "default");
    if (!group) return;
    group.endedAt = Date.now();
    group.endCpu = cpuTicks();
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const wallS = (Date.now() - this.startedAt) / 1_000;
    const sums = new Map<string, { files: number; seconds: number }>();
    for (const module of testModules) {
      const part = partOf(relative(process.cwd(), module.moduleId));
      const sum = sums.get(part) ?? { files: 0, seconds: 0 };
      sum.files += 1;
      sum.seconds += module.diagnostic().duration / 1_000;
      sums.set(part, sum);
    }
    const rows = [...sums.entries()].sort((a, b) => b[1].seconds - a[1].seconds);
    const lines = rows.map(([part, sum]) => `  ${part.padEnd(12)} ${String(sum.files).padStart(3)} files ${sum.seconds.toFixed(1).padStart(7)} s`);
    const groups = [...this.groups.entries()]
      .filter(([, span]) => span.endedAt > 0)
      .sort((a, b) => a[1].startedAt - b[1].startedAt)
      .map(([name, span]) => {
        const from = ((span.startedAt - this.startedAt) / 1_000).toFixed(1);
        const to = ((span.endedAt - this.startedAt) / 1_000).toFixed(1);
        const busy = busyShare(span.startCpu, span.endCpu);
        return `  ${name.padEnd(12)} ${((span.endedAt - span.startedAt) / 1_000).toFixed(1).padStart(7)} s  (${from} s to ${to} s)${busy === undefined ? "" : `  CPU busy ${Math.round(busy * 100)}%`}` + this.tailOf(name);
      });
    process.stdout.write(
      `\ntest time by part (summed over files; vitest wall ${wallS.toFixed(1)} s):\n${lines.join("\n")}\n` +
        (groups.length > 0 ? `wall time by group (first file's start to last file's end):\n${groups.join("\n")}\n` : ""),
    );
  }

  /**
   * A group's last files to end, with their start and end (s since the run's start): a long file that started late
   * and ran on while the other workers had nothing left is what idle CPU at a group's end comes from.
   */
  private tailOf(group: string): string {
    const last = [...this.files.entries()]
      .filter(([, file]) => file.group === group && file.to > 0)
      .sort((a, b) => b[1].to - a[1].to)
      .slice(0, TAIL_FILES);
    if (last.length < 2) return "";
    const rows = last.map(([id, file]) => `      ${relative(process.cwd(), id)}  ${(file.from / 1_000).toFixed(1)} s to ${(file.to / 1_000).toFixed(1)} s`);
    return `\n    last to end:\n${rows.join("\n")}`;
  }
}

/** Files listed per group as its tail. */
const TAIL_FILES = 3;

interface GroupSpan {
  startedAt: number;
  startCpu: CpuTicks | undefined;
  endedAt: number;
  endCpu: CpuTicks | undefined;
}

interface CpuTicks {
  busy: number;
  total: number;
}

/** The machine's CPU time so far from the first line of /proc/stat (busy = all but idle and iowait), or undefined. */
function cpuTicks(): CpuTicks | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/stat", "utf8");
  } catch {
    return undefined;
  }
  const fields = /^cpu +([0-9 ]+)/.exec(text)?.[1]?.trim().split(/ +/).map(Number);
  if (!fields || fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** The share of CPU time that was busy between two readings, or undefined when either is missing or no time passed. */
function busyShare(from: CpuTicks | undefined, to: CpuTicks | undefined): number | undefined {
  if (!from || !to || to.total <= from.total) return undefined;
  return (to.busy - from.busy) / (to.total - from.total);
}

/** The part of the suite a test file belongs to, by its path. */
export function partOf(path: string): string {
  const name = path.replaceAll("\\", "/");
  if (/(^|\/)gate[.-][^/]*test\.ts$/.test(name)) return "gate";
  if (/(^|\/)[^/]*container[^/]*\.test\.ts$/.test(name)) return "containers";
  if (name.startsWith("test/scenarios/")) return "scenarios";
  if (name.startsWith("test/")) return "integration";
  return "unit";
}
