/**
 * `npm run bench -- long-run [--clients N] [--duration S] [--instances N] [--seed N]`
 *
 * A release-like run of the `restart` scenario (its steps and release profile: 300 routes/s, one instance killed
 * and one drained and brought back; a ramp of 500/s and 5 minutes to connect) stretched to `--duration` seconds of holds (default 600, the 10-minute run) with
 * `--clients` clients (default 20,000) over `--instances` gateways (default 5: at most 5,000 sockets each, 6,700
 * while one is down), through the engine as `npm run scenario` runs it, report files included. The harness's own
 * resident memory (this process: the recorder, checks and reports; the fleet's workers and the gateways are other
 * processes) is sampled every 500 ms from the start of the run to the end of the reports.
 *
 * The local runtime's proxy server runs in a process of its own (harness/runtime/toxiproxy-process.ts): its RSS is
 * sampled with the harness's, and the 1 GB target is judged on the two together.
 *
 * JSON last line: `harness_peak_rss_mb` (this process), `proxy_peak_rss_mb` (the proxy server's process),
 * `harness_and_proxy_peak_rss_mb` (the peak of their sum, target under 1 GB), `report_mb` (index.html; bound 50 MB),
 * `report_open_ms` (headless Chromium, navigation to drawn; bound 3 s), the sizes of run.json and events.ndjson,
 * the events recorded and the run's status, the confirmed-ack p50 and p99 (`ack_p50_ms`, `ack_p99_ms`) and the SUT's
 * Redis commands of 20 ms or more over the run (`redis_slow_commands`, the longest `redis_slow_max_ms`; per command
 * on the line before). RSS min/median/max over the samples are printed before it.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { measureReportOpen } from "../harness/report/report-open-time.js";
import { slowCommandsTotal } from "../harness/report/page/series.js";
import { defineScenario } from "../harness/scenario/define-scenario.js";
import { runScenario } from "../harness/scenario/engine.js";
import restart, { restartSteps } from "../scenarios/restart.js";
import { HarnessError } from "../harness/errors.js";
import { numericFlags } from "./numeric-flags.js";
import { listTaggedProcesses, processRssBytes } from "../harness/runtime/sweep.js";

/**
 * The restart scenario's steps and release profile (300 routes/s, its thresholds) for a long run: clients ramp at
 * 500/s (20,000 in 40 s; at the release profile's 1,000/s the gateways of a loaded 2-core machine refuse part of
 * the ramp with 503 and the retries feed it) and the fleet gets 5 minutes to connect instead of 1.
 */
const longRestart = defineScenario({
  ...restart,
  profiles: { ...restart.profiles, release: { ...restart.profiles.release, rampPerSecond: 500 } },
  steps: (p) => restartSteps(p, 300_000),
});

const DEFAULTS = { clients: 20_000, duration: 600, instances: 5, seed: 1_014 };
const RSS_INTERVAL_MS = 500;
const MB = 1024 * 1024;

function parseArgs(args: string[]): typeof DEFAULTS {
  const options = numericFlags(args, DEFAULTS);
  if (options.duration < 4) throw new HarnessError("HARNESS_ERR_USAGE", `--duration ${options.duration} is too short: the scenario holds half of it before its faults (at least 4 s)`);
  return options;
}

let proxyPid: number | undefined;

/** The RSS of this run's proxy server process (started by this process), 0 while there is none. */
function proxyRss(): number {
  const known = proxyPid === undefined ? undefined : processRssBytes(proxyPid);
  if (known !== undefined) return known;
  // Not found yet, or gone: look for it among the processes this one tagged (a walk of /proc).
  proxyPid = listTaggedProcesses({ ownerPid: process.pid }).find((p) => p.command.includes("toxiproxy-server"))?.pid;
  return proxyPid === undefined ? 0 : (processRssBytes(proxyPid) ?? 0);
}

function sizeMb(file: string): number | null {
  try {
    return Math.round((statSync(file).size / MB) * 10) / 10;
  } catch {
    return null;
  }
}

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const rss: number[] = [];
  const proxy: number[] = [];
  const sample = () => {
    rss.push(process.memoryUsage.rss());
    proxy.push(proxyRss());
  };
  sample();
  const sampler = setInterval(sample, RSS_INTERVAL_MS);
  const started = Date.now();
  const progress = setInterval(() => process.stdout.write(`  ${Math.round((Date.now() - started) / 1_000)} s: harness RSS ${Math.round(rss.at(-1)! / MB)} MB (peak ${Math.round(Math.max(...rss) / MB)} MB), proxy server ${Math.round(proxy.at(-1)! / MB)} MB\n`), 30_000);
  process.stdout.write(`restart --profile release --clients ${options.clients} --instances ${options.instances}, ${options.duration} s of holds, seed ${options.seed}\n`);
  let outcome: Awaited<ReturnType<typeof runScenario>>;
  try {
    // The scenario holds durationS, then half of it after each of its two faults.
    outcome = await runScenario({ scenario: longRestart, profile: "release", clients: options.clients, instances: options.instances, durationS: options.duration / 2, seed: options.seed });
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
    sample();
  }
  const { result, reportDir } = outcome;
  const html = join(reportDir, "index.html");
  const opened = await measureReportOpen(html);
  const sorted = [...rss].sort((a, b) => a - b);
  const both = rss.map((r, i) => r + proxy[i]!);
  const mb = (v: number) => Math.round(v / MB);
  process.stdout.write(`report ${reportDir}: ${result.status}, ${result.checks.filter((c) => !c.pass).map((c) => c.name).join(", ") || "every check passed"}\n`);
  process.stdout.write(`harness RSS MB over ${rss.length} samples: min ${mb(sorted[0]!)} / median ${mb(sorted[Math.floor(sorted.length / 2)]!)} / max ${mb(sorted.at(-1)!)}\n`);
  process.stdout.write(`proxy server RSS MB: max ${mb(Math.max(...proxy))}; harness and proxy together: max ${mb(Math.max(...both))}\n`);
  process.stdout.write(`page opened in ${opened.openMs} ms (${opened.status}${opened.messages ? `: ${opened.messages}` : ""})\n`);
  const summary = result.fleet_summary as { messages?: { sent?: number }; connectErrors?: number; latency?: { ack?: { p50?: number; p99?: number } } } | undefined;
  // The SUT's Redis commands of 20 ms or more over the run (each sample counts those since the previous one).
  const slow = slowCommandsTotal(result.samples);
  process.stdout.write(`Redis commands of 20 ms or more: ${slow.count} (longest ${slow.max_ms} ms) ${JSON.stringify(slow.by_command)}\n`);
  const out = {
    benchmark: "long-run",
    clients: options.clients,
    instances: options.instances,
    duration_s: Math.round(result.duration_ms / 1_000),
    status: result.status,
    harness_peak_rss_mb: mb(sorted.at(-1)!),
    harness_median_rss_mb: mb(sorted[Math.floor(sorted.length / 2)]!),
    proxy_peak_rss_mb: mb(Math.max(...proxy)),
    harness_and_proxy_peak_rss_mb: mb(Math.max(...both)),
    report_mb: sizeMb(html),
    report_open_ms: opened.openMs,
    report_open_status: opened.status,
    run_json_mb: sizeMb(join(reportDir, "run.json")),
    events_ndjson_mb: sizeMb(join(reportDir, "events.ndjson")),
    events: result.event_log?.events ?? result.events.length,
    events_omitted_from_run_json: result.event_log?.omitted ?? 0,
    messages_sent: summary?.messages?.sent ?? null,
    ack_p50_ms: summary?.latency?.ack?.p50 ?? null,
    ack_p99_ms: summary?.latency?.ack?.p99 ?? null,
    redis_slow_commands: slow.count,
    redis_slow_max_ms: slow.max_ms,
    failed_checks: result.checks.filter((c) => !c.pass).map((c) => c.name),
    report_dir: reportDir,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
