import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints, at the end of `npm test`, where the time went: the test files' summed durations per part of the suite
 * (unit, integration, scenarios, containers, gate) and the wall time of the whole vitest run. Files run
 * `maxWorkers` at a time, so the sums add up to several times the wall time; the shares are what to compare across runs. `.ci/run`
 * prints the phases around it (install, images; the typecheck runs beside vitest, test/npm-test.mjs).
 */
export default class CiTimingReporter implements Reporter {
  private startedAt = 0;

  onTestRunStart(): void {
    this.startedAt = Date.now();
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
    process.stdout.write(`\ntest time by part (summed over files; vitest wall ${wallS.toFixed(1)} s):\n${lines.join("\n")}\n`);
  }
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
