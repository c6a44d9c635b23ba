import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { BENCHMARKS, MAX_REPEAT, parseArgs } from "../../bench/all.js";
import { compareFigure, readEarlierSummary, separationChance } from "../../bench/compare.js";
import { judge, markdown, summarize, type Benchmark } from "../../bench/summary.js";

/** `npm run bench -- all`'s summary over one or more runs of each benchmark (pure: no benchmark runs here). */
describe("bench all: figures over repeated runs", () => {
  it("should judge a typical figure on its median run and a bound on its worst run", () => {
    const runs = [0.7, 0.9, 0.86];
    expect(judge({ name: "ratio_connect", min: 0.85 }, runs)).toMatchObject({ value: 0.86, runs, verdict: "pass" });
    expect(judge({ name: "ratio_throughput_min", min: 0.6, over: "worst" }, [0.62, 0.58, 0.9])).toMatchObject({ value: 0.58, verdict: "miss" });
    expect(judge({ name: "added_p50_ms", max: 0.1 }, [0.05, 0.2, 0.06])).toMatchObject({ value: 0.06, verdict: "pass" });
    expect(judge({ name: "connect_errors", max: 0, over: "worst" }, [0, 3, 0])).toMatchObject({ value: 3, verdict: "miss" });
    // An even number of runs: the mean of the middle two.
    expect(judge({ name: "ratio_connect", min: 0.85 }, [0.8, 0.9, 0.84, 0.88]).value).toBeCloseTo(0.86, 10);
  });

  it("should miss a floored figure that any run did not give, and report the median of the runs that gave an unfloored one", () => {
    expect(judge({ name: "ratio_connect", min: 0.85 }, [0.9, undefined, 0.95])).toMatchObject({ runs: [0.9, null, 0.95], verdict: "miss" });
    expect(judge({ name: "ratio_connect", min: 0.85 }, [Number.NaN])).toMatchObject({ value: null, verdict: "miss" });
    expect(judge({ name: "ramp_s" }, [20.7, null, 21.9, 22.5])).toMatchObject({ value: 21.9, verdict: "reported" });
    expect(judge({ name: "ramp_s" }, [undefined])).toMatchObject({ value: null, verdict: "absent" });
  });

  it("should keep a single run's figures as that run gave them", () => {
    const benchmark: Benchmark = { name: "gateway", figures: [{ name: "ratio_connect", min: 0.85 }, { name: "memory_ratio_vs_bare", max: 1.2 }] };
    const result = summarize(benchmark, [{ status: "ran", exit_code: 1, seconds: 23.7, result: { ratio_connect: 0.698, memory_ratio_vs_bare: 0.716 } }]);
    expect(result).toMatchObject({ status: "ran", exit_code: 1, seconds: 23.7, result: { ratio_connect: 0.698 } });
    expect(result.figures.map((f) => [f.value, f.verdict])).toEqual([[0.698, "miss"], [0.716, "pass"]]);
    expect(result.runs).toBeUndefined();
    expect(markdown("t", [result], 1)).toContain("| gateway | `ratio_connect` | 0.698 | >= 0.85 | miss |");
  });

  it("should carry the worst status of the runs, the last failing exit code and every run", () => {
    const benchmark: Benchmark = { name: "toxiproxy", figures: [{ name: "ratio_throughput", min: 0.8 }] };
    const result = summarize(benchmark, [
      { status: "ran", exit_code: 0, seconds: 25, result: { ratio_throughput: 0.84 } },
      { status: "failed", exit_code: 3, seconds: 2 },
      { status: "ran", exit_code: 1, seconds: 26, result: { ratio_throughput: 0.79 } },
    ]);
    expect(result).toMatchObject({ status: "failed", exit_code: 1, seconds: 53, result: { ratio_throughput: 0.79 } });
    expect(result.runs).toHaveLength(3);
    expect(result.figures[0]).toMatchObject({ runs: [0.84, null, 0.79], verdict: "miss" });
    const md = markdown("t", [summarize(benchmark, [0.84, 0.79, 1.1].map((v) => ({ status: "ran" as const, exit_code: 0, seconds: 1, result: { ratio_throughput: v } })))], 3);
    expect(md).toContain("| toxiproxy | `ratio_throughput` | 0.84 (median of 0.84, 0.79, 1.1) | >= 0.8 | pass |");
    expect(md).toContain("ran 3 times");
  });

  it("should judge on the worst run only figures that have a floor", () => {
    for (const figure of BENCHMARKS.flatMap((b) => b.figures).filter((f) => f.over === "worst")) {
      expect(figure.min !== undefined || figure.max !== undefined, figure.name).toBe(true);
    }
  });
});

describe("bench all: arguments", () => {
  it("should take --only, --repeat and --out as --name value or --name=value", () => {
    expect(parseArgs([])).toEqual({ repeat: 1 });
    expect(parseArgs(["--only", "gateway,toxiproxy", "--repeat=3", "--out", "/tmp/x"])).toEqual({ only: ["gateway", "toxiproxy"], repeat: 3, out: "/tmp/x" });
    expect(parseArgs([`--repeat=${MAX_REPEAT}`]).repeat).toBe(MAX_REPEAT);
    expect(parseArgs(["--compare", "reports/bench-x"])).toEqual({ repeat: 1, compare: "reports/bench-x" });
  });

  it.each([
    // Once an empty summary that passed, with exit code 0: a misspelt name ran nothing.
    { args: ["--only", "gatewy"], says: '--only names no benchmark: "gatewy"' },
    { args: ["--only=gateway,"], says: '--only names no benchmark: ""' },
    { args: ["--repeat", "0"], says: `--repeat must be an integer in 1..${MAX_REPEAT} (got "0")` },
    { args: ["--repeat", String(MAX_REPEAT + 1)], says: "--repeat must be an integer" },
    { args: ["--repeat", "2.5"], says: "--repeat must be an integer" },
    { args: ["--repeat"], says: "--repeat needs a value" },
    { args: ["--only", "--repeat", "2"], says: "--only needs a value" },
    { args: ["--repeat", "2", "--repeat=3"], says: "--repeat given twice" },
    { args: ["--rounds", "2"], says: "unknown argument --rounds" },
    { args: ["--compare"], says: "--compare needs a value" },
    { args: ["gateway"], says: "unknown argument gateway" },
  ])("should refuse $args as a usage error naming it", ({ args, says }) => {
    expect(() => parseArgs(args)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE", message: expect.stringContaining(says) }));
    expect(() => parseArgs(args)).toThrow("benchmarks: registry, gateway, toxiproxy, fleet, recovery, scale, long-run");
  });
});

describe("bench all: --compare with an earlier summary", () => {
  const ratio = { name: "ratio_connect", min: 0.85 };
  it("should call a separation of the runs better or worse by the floor's direction only where chance would rarely make it", () => {
    const before = { value: 0.75, runs: [0.74, 0.75, 0.785, 0.76] };
    expect(compareFigure(judge(ratio, [0.86, 0.9, 0.88, 0.87]), before)).toEqual({
      before: 0.75, before_runs: before.runs, change_pct: 16.7, judgement: "better", chance_pct: 2.9,
    });
    expect(compareFigure(judge(ratio, [0.7, 0.72, 0.73, 0.71]), before).judgement).toBe("worse");
    expect(compareFigure(judge(ratio, [0.73, 0.79, 0.8, 0.81]), before).judgement).toBe("within the spread");
    // Three runs a side separate by chance one time in ten: not called.
    expect(compareFigure(judge(ratio, [0.86, 0.9, 0.88]), { value: 0.75, runs: [0.74, 0.75, 0.785] })).toMatchObject({ judgement: "too few runs to tell", chance_pct: 10 });
    // An at-most floor: lower is better.
    const memory = { name: "memory_ratio_vs_bare", max: 1.2 };
    expect(compareFigure(judge(memory, [0.6, 0.62, 0.61, 0.6]), { value: 0.72, runs: [0.7, 0.74, 0.71, 0.73] }).judgement).toBe("better");
    // No floor: only which way it went.
    expect(compareFigure(judge({ name: "ramp_s" }, [30, 31, 30.5, 32]), { value: 21, runs: [20.7, 21.5, 21, 22] }).judgement).toBe("higher");
    expect([[2, 2], [3, 3], [4, 4], [5, 5], [3, 4], [1, 1]].map(([n, m]) => Math.round(separationChance(n!, m!) * 1_000) / 1_000)).toEqual([0.333, 0.1, 0.029, 0.008, 0.057, 1]);
  });

  it("should not judge without a spread on both sides, nor a figure missing from either", () => {
    expect(compareFigure(judge(ratio, [0.9]), { value: 0.7, runs: [0.7] })).toMatchObject({ change_pct: 28.6, judgement: "no spread" });
    // A run that gave no figure leaves the range unknown.
    expect(compareFigure(judge(ratio, [0.9, 0.91]), { value: 0.71, runs: [0.7, 0.72, null] }).judgement).toBe("no spread");
    expect(compareFigure(judge(ratio, [0.9, 0.91]), undefined)).toMatchObject({ before: null, judgement: "not comparable" });
    expect(compareFigure(judge(ratio, [undefined]), { value: 0.7, runs: [0.7, 0.71] })).toMatchObject({ change_pct: null, judgement: "not comparable" });
  });

  it("should read a summary by its file or its directory, older ones without runs too, and refuse what is none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-bench-compare-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const summary = { started: "2026-12-06T10:18:40.784Z", benchmarks: [
      { name: "gateway", figures: [{ name: "ratio_connect", value: 0.751, runs: [0.751, 0.74, 0.785] }] },
      { name: "registry", figures: [{ name: "ratio_session_lookup", value: 0.462 }] },
    ] };
    await writeFile(join(dir, "summary.json"), JSON.stringify(summary));
    const earlier = await readEarlierSummary(dir);
    expect(earlier).toMatchObject({ path: join(dir, "summary.json"), started: summary.started });
    expect(earlier.figures.get("gateway/ratio_connect")).toEqual({ value: 0.751, runs: [0.751, 0.74, 0.785] });
    expect(earlier.figures.get("registry/ratio_session_lookup")).toEqual({ value: 0.462, runs: [0.462] });
    expect((await readEarlierSummary(join(dir, "summary.json"))).figures.size).toBe(2);

    await writeFile(join(dir, "other.json"), JSON.stringify({ bench: "gateway" }));
    await writeFile(join(dir, "broken.json"), "{");
    for (const [path, says] of [
      [join(dir, "missing.json"), "cannot read"],
      [join(dir, "broken.json"), "is not JSON"],
      [join(dir, "other.json"), 'no "benchmarks" list'],
    ] as const) {
      await expect(readEarlierSummary(path)).rejects.toMatchObject({ code: "HARNESS_ERR_USAGE", message: expect.stringContaining(says) });
    }
  });

  it("should show the earlier value, its runs and the change beside each figure", () => {
    const benchmark: Benchmark = { name: "gateway", figures: [ratio, { name: "memory_ratio_vs_bare", max: 1.2 }] };
    const result = summarize(benchmark, [0.86, 0.9, 0.88, 0.87].map((v) => ({ status: "ran" as const, exit_code: 0, seconds: 1, result: { ratio_connect: v, memory_ratio_vs_bare: 0.7 } })));
    result.figures[0]!.compared = compareFigure(result.figures[0]!, { value: 0.75, runs: [0.74, 0.75, 0.785, 0.76] });
    const md = markdown("t", [result], 4, { path: "/r/summary.json", started: "earlier" });
    expect(md).toContain("Compared with /r/summary.json (earlier)");
    expect(md).toContain("| benchmark | figure | value | floor | verdict | before | change |");
    expect(md).toContain("| gateway | `ratio_connect` | 0.875 (median of 0.86, 0.9, 0.88, 0.87) | >= 0.85 | pass | 0.75 (runs 0.74, 0.75, 0.785, 0.76) | +16.7% (better; 2.9% by chance) |");
    expect(md).toContain("| gateway | `memory_ratio_vs_bare` | 0.7 (median of 0.7, 0.7, 0.7, 0.7) | <= 1.2 | pass | - | not in the earlier summary |");
  });
});
