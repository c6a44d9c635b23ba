/**
 * `npm run bench -- all [--only a,b] [--repeat N] [--out DIR] [--compare EARLIER]`: runs every benchmark of
 * {@link BENCHMARKS} that exists, one child process each (`npm run bench -- <name>`, so one benchmark's failure or exit
 * code does not stop the others), reads the JSON object on its last line, and writes one summary of each named figure
 * against its floor: reports/bench-<timestamp>/summary.json and summary.md, plus each benchmark's full output
 * (<name>.log, or <name>-<run>.log with `--repeat`).
 *
 * `--repeat N` runs each benchmark N times, the benchmarks taking turns, and judges each figure over its runs
 * (bench/summary.ts: the median run, or the worst for a bound every run must keep). `--compare` sets each figure
 * beside an earlier summary's and says whether it moved beyond the runs' spread (bench/compare.ts). A figure without
 * a floor is reported as measured. A benchmark that is missing (not yet written), fails, or prints no JSON last line
 * is listed as such, and its figures count as missed. Exit code 1 when any floor is missed, 2 on a bad argument
 * (nothing run).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { integer, usage } from "../harness/cli/flag-values.js";
import { HarnessError } from "../harness/errors.js";
import { compareFigure, readEarlierSummary, type EarlierSummary } from "./compare.js";
import { markdown, summarize, type Benchmark, type BenchmarkResult, type BenchmarkRun } from "./summary.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");

/** Every benchmark and the floors of issue 14. `over: "worst"`: a bound every run must keep (bench/summary.ts). */
export const BENCHMARKS: readonly Benchmark[] = [
  { name: "registry", figures: [{ name: "ratio_register_batched", min: 1.0 }, { name: "ratio_session_lookup", min: 0.5 }, { name: "ratio_unregister_batched" }] },
  { name: "gateway", figures: [{ name: "ratio_connect", min: 0.85 }, { name: "memory_ratio_vs_bare", max: 1.2 }] },
  {
    name: "toxiproxy",
    figures: [{ name: "ratio_throughput", min: 0.8 }, { name: "ratio_throughput_min", min: 0.6, over: "worst" }, { name: "added_p50_ms", max: 0.1, unit: "ms" }],
  },
  { name: "fleet", figures: [{ name: "ratio_connect_vs_artillery", min: 2.0 }, { name: "ratio_connect_vs_artillery_per_process", min: 1.5 }, { name: "memory_ratio_vs_artillery", max: 0.7 }] },
  { name: "recovery", figures: [{ name: "recovery_s_max", max: 2, unit: "s", over: "worst" }, { name: "recovery_s", unit: "s" }] },
  {
    name: "scale",
    figures: [{ name: "sockets_held", min: 40_000, over: "worst" }, { name: "connect_errors", max: 0, over: "worst" }, { name: "ramp_s", unit: "s" }, { name: "connect_p99_ms", unit: "ms" }],
  },
  {
    name: "long-run",
    figures: [{ name: "harness_and_proxy_peak_rss_mb", max: 1_024, unit: "MB", over: "worst" }, { name: "harness_peak_rss_mb", unit: "MB" }, { name: "report_mb", unit: "MB" }],
  },
];

/** Most runs of each benchmark `--repeat` takes: ten runs of the 10-minute run are already more than an hour and a half. */
export const MAX_REPEAT = 10;

export interface AllOptions {
  only?: string[];
  out?: string;
  repeat: number;
  /** An earlier summary.json, or the directory holding it. */
  compare?: string;
}

const USAGE = `usage: npm run bench -- all [--only name,name] [--repeat N] [--out DIR] [--compare EARLIER_SUMMARY]; benchmarks: ${BENCHMARKS.map((b) => b.name).join(", ")}`;

/** `all`'s flags, each `--name value` or `--name=value`; anything else is a usage error (exit 2, nothing run). */
export function parseArgs(args: readonly string[]): AllOptions {
  try {
    return parseFlags(args);
  } catch (error) {
    // Every refusal also says how to call it and which benchmarks there are.
    if (error instanceof HarnessError && error.code === "HARNESS_ERR_USAGE") throw usage(`${error.message}; ${USAGE}`);
    throw error;
  }
}

function parseFlags(args: readonly string[]): AllOptions {
  const options: AllOptions = { repeat: 1 };
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, eq >= 0 ? eq : undefined) : "";
    if (!["only", "out", "repeat", "compare"].includes(name)) throw usage(`unknown argument ${arg}`);
    if (seen.has(name)) throw usage(`--${name} given twice`);
    seen.add(name);
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) throw usage(`--${name} needs a value`);
    if (name === "out") options.out = value;
    else if (name === "compare") options.compare = value;
    else if (name === "repeat") options.repeat = integer("repeat", value, 1, MAX_REPEAT)!;
    else {
      const names = value.split(",");
      const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
      if (unknown.length > 0) throw usage(`--only names no benchmark: ${unknown.map((n) => JSON.stringify(n)).join(", ")}`);
      options.only = names;
    }
  }
  return options;
}

/** Runs one benchmark in a child process; resolves with its exit code and whole output. */
function runChild(benchmark: Benchmark): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(HERE, "main.ts"), benchmark.name, ...(benchmark.args ?? [])], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/** The JSON object on the last non-empty stdout line, if any. */
function lastJson(output: string): Record<string, unknown> | undefined {
  const lines = output.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith("{")) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Entry point called by bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  // Read before anything runs: a summary that cannot be compared with is a usage error, not minutes of benchmarks.
  const earlier: EarlierSummary | undefined = options.compare === undefined ? undefined : await readEarlierSummary(options.compare);
  const started = new Date().toISOString();
  const dir = options.out ?? join(ROOT, "reports", `bench-${started.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`);
  await mkdir(dir, { recursive: true });
  const selected = BENCHMARKS.filter((benchmark) => !options.only || options.only.includes(benchmark.name));
  const runs = new Map<string, BenchmarkRun[]>(selected.map((benchmark) => [benchmark.name, []]));
  // The benchmarks take turns run after run, so that a slow minute of the machine falls on several benchmarks'
  // runs rather than on all the runs of one.
  for (let k = 1; k <= options.repeat; k++) {
    for (const benchmark of selected) {
      const label = options.repeat > 1 ? `${benchmark.name} (run ${k} of ${options.repeat})` : benchmark.name;
      if (!existsSync(join(HERE, `${benchmark.name}.ts`))) {
        runs.get(benchmark.name)!.push({ status: "missing", exit_code: null, seconds: 0 });
        process.stdout.write(`\n== ${label}: bench/${benchmark.name}.ts does not exist; its figures count as missed\n`);
        continue;
      }
      process.stdout.write(`\n== ${label}\n`);
      const t0 = performance.now();
      const { code, output } = await runChild(benchmark);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      await writeFile(join(dir, options.repeat > 1 ? `${benchmark.name}-${k}.log` : `${benchmark.name}.log`), output);
      const result = lastJson(output);
      const status = result === undefined ? (code === 0 ? "no-json" : "failed") : "ran";
      runs.get(benchmark.name)!.push({ status, exit_code: code, seconds, ...(result ? { result } : {}) });
    }
  }
  const results: BenchmarkResult[] = selected.map((benchmark) => summarize(benchmark, runs.get(benchmark.name)!));
  if (earlier) for (const r of results) for (const f of r.figures) f.compared = compareFigure(f, earlier.figures.get(`${r.name}/${f.name}`));
  const pass = results.every((r) => r.figures.every((f) => f.verdict !== "miss"));
  await writeFile(join(dir, "summary.json"), `${JSON.stringify({ started, repeat: options.repeat, ...(earlier ? { compared_with: earlier.path } : {}), pass, benchmarks: results }, null, 2)}\n`);
  const md = markdown(started, results, options.repeat, earlier);
  await writeFile(join(dir, "summary.md"), md);
  process.stdout.write(`\n${md}\nsummary: ${join(dir, "summary.json")} and summary.md\n`);
  const figures = Object.fromEntries(results.flatMap((r) => r.figures.map((f) => [f.name, f.value])));
  process.stdout.write(`${JSON.stringify({ bench: "all", repeat: options.repeat, pass, summary: join(dir, "summary.json"), ...figures })}\n`);
  if (!pass) process.exitCode = 1;
}
