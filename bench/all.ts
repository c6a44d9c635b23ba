/**
 * `npm run bench -- all [--only a,b] [--out DIR]`: runs every benchmark of {@link BENCHMARKS} that exists, one child
 * process each (`npm run bench -- <name>`, so one benchmark's failure or exit code does not stop the others), reads
 * the JSON object on its last line, and writes one summary of each named figure against its floor:
 * reports/bench-<timestamp>/summary.json and summary.md, plus each benchmark's full output (<name>.log).
 *
 * A figure without a floor is reported as measured. A benchmark that is missing (not yet written), fails, or prints
 * no JSON last line is listed as such, and its figures count as missed. Exit code 1 when any floor is missed.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HarnessError } from "../harness/errors.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");

/** A named figure of a benchmark's JSON last line and its floor (`min`: at least; `max`: at most; none: reported). */
interface Figure {
  name: string;
  min?: number;
  max?: number;
  unit?: string;
}

/** A benchmark and its figures, in the order they run. One line each: add a benchmark by adding its line. */
interface Benchmark {
  name: string;
  args?: string[];
  figures: Figure[];
}

/** Every benchmark and the floors of issue 14. */
const BENCHMARKS: Benchmark[] = [
  { name: "registry", figures: [{ name: "ratio_register_batched", min: 1.0 }, { name: "ratio_session_lookup", min: 0.5 }, { name: "ratio_unregister_batched" }] },
  { name: "gateway", figures: [{ name: "ratio_connect", min: 0.85 }, { name: "memory_ratio_vs_bare", max: 1.2 }] },
  { name: "toxiproxy", figures: [{ name: "ratio_throughput", min: 0.8 }, { name: "ratio_throughput_min", min: 0.6 }, { name: "added_p50_ms", max: 0.1, unit: "ms" }] },
  { name: "fleet", figures: [{ name: "ratio_connect_vs_artillery", min: 2.0 }, { name: "ratio_connect_vs_artillery_per_process", min: 1.5 }, { name: "memory_ratio_vs_artillery", max: 0.7 }] },
  { name: "recovery", figures: [{ name: "recovery_s_max", max: 2, unit: "s" }, { name: "recovery_s", unit: "s" }] },
  { name: "scale", figures: [{ name: "sockets_held", min: 40_000 }, { name: "connect_errors", max: 0 }, { name: "ramp_s", unit: "s" }, { name: "connect_p99_ms", unit: "ms" }] },
  { name: "long-run", figures: [{ name: "harness_and_proxy_peak_rss_mb", max: 1_024, unit: "MB" }, { name: "harness_peak_rss_mb", unit: "MB" }, { name: "report_mb", unit: "MB" }] },
];

type Verdict = "pass" | "miss" | "reported" | "absent";

interface FigureResult extends Figure {
  value: number | null;
  verdict: Verdict;
}

interface BenchmarkResult {
  name: string;
  status: "ran" | "missing" | "failed" | "no-json";
  exit_code: number | null;
  seconds: number;
  figures: FigureResult[];
  /** The benchmark's whole JSON last line. */
  result?: Record<string, unknown>;
}

function parseArgs(args: string[]): { only?: string[]; out?: string } {
  const options: { only?: string[]; out?: string } = {};
  for (let i = 0; i < args.length; i += 2) {
    const value = args[i + 1];
    if (args[i] === "--only" && value) options.only = value.split(",");
    else if (args[i] === "--out" && value) options.out = value;
    else throw new HarnessError("HARNESS_ERR_USAGE", `usage: npm run bench -- all [--only name,name] [--out DIR]; got ${args.join(" ")}`);
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

function judge(figure: Figure, value: unknown): FigureResult {
  const number = typeof value === "number" && Number.isFinite(value) ? value : null;
  if (number === null) return { ...figure, value: null, verdict: figure.min === undefined && figure.max === undefined ? "absent" : "miss" };
  if (figure.min === undefined && figure.max === undefined) return { ...figure, value: number, verdict: "reported" };
  const ok = (figure.min === undefined || number >= figure.min) && (figure.max === undefined || number <= figure.max);
  return { ...figure, value: number, verdict: ok ? "pass" : "miss" };
}

function floorText(figure: Figure): string {
  if (figure.min !== undefined) return `>= ${figure.min}`;
  if (figure.max !== undefined) return `<= ${figure.max}`;
  return "(reported)";
}

function markdown(started: string, results: BenchmarkResult[]): string {
  const rows = results.flatMap((r) =>
    r.figures.map((f) => `| ${r.name} | \`${f.name}\` | ${f.value ?? "-"}${f.unit && f.value !== null ? ` ${f.unit}` : ""} | ${floorText(f)} | ${f.verdict} |`),
  );
  const runs = results.map((r) => `| ${r.name} | ${r.status} | ${r.exit_code ?? "-"} | ${r.seconds} |`);
  return [
    `# Benchmarks ${started}`,
    "",
    "| benchmark | figure | value | floor | verdict |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "| benchmark | status | exit code | seconds |",
    "| --- | --- | --- | --- |",
    ...runs,
    "",
    "Each figure is the benchmark's own same-run ratio or measurement (see bench/<name>.ts); its full output is in <name>.log.",
    "",
  ].join("\n");
}

/** Entry point called by bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const started = new Date().toISOString();
  const dir = options.out ?? join(ROOT, "reports", `bench-${started.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`);
  await mkdir(dir, { recursive: true });
  const results: BenchmarkResult[] = [];
  for (const benchmark of BENCHMARKS) {
    if (options.only && !options.only.includes(benchmark.name)) continue;
    if (!existsSync(join(HERE, `${benchmark.name}.ts`))) {
      results.push({ name: benchmark.name, status: "missing", exit_code: null, seconds: 0, figures: benchmark.figures.map((f) => judge(f, undefined)) });
      process.stdout.write(`\n== ${benchmark.name}: bench/${benchmark.name}.ts does not exist; its figures count as missed\n`);
      continue;
    }
    process.stdout.write(`\n== ${benchmark.name}\n`);
    const t0 = performance.now();
    const { code, output } = await runChild(benchmark);
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    await writeFile(join(dir, `${benchmark.name}.log`), output);
    const result = lastJson(output);
    const status = result === undefined ? (code === 0 ? "no-json" : "failed") : "ran";
    results.push({ name: benchmark.name, status, exit_code: code, seconds, figures: benchmark.figures.map((f) => judge(f, result?.[f.name])), ...(result ? { result } : {}) });
  }
  const pass = results.every((r) => r.figures.every((f) => f.verdict !== "miss"));
  await writeFile(join(dir, "summary.json"), `${JSON.stringify({ started, pass, benchmarks: results }, null, 2)}\n`);
  const md = markdown(started, results);
  await writeFile(join(dir, "summary.md"), md);
  process.stdout.write(`\n${md}\nsummary: ${join(dir, "summary.json")} and summary.md\n`);
  const figures = Object.fromEntries(results.flatMap((r) => r.figures.map((f) => [f.name, f.value])));
  process.stdout.write(`${JSON.stringify({ bench: "all", pass, summary: join(dir, "summary.json"), ...figures })}\n`);
  if (!pass) process.exitCode = 1;
}
