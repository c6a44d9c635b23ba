/**
 * `npm run bench -- scale [--sockets N] [--instances N] [--hold S] [--ramp N] [--seed N]`
 *
 * Holds `--sockets` WebSocket clients (default 40,000) at once across `--instances` reference gateways (default 5)
 * of the local runtime (Redis, the proxy, the gateways), the fleet spread over worker processes of at most 8,000
 * clients each, so that no process nears the 20,000 open-files limit. The ramp runs at `--ramp` connections/s
 * (0: as fast as the workers go); connect errors are counted by reason (HTTP status, socket error) from the events;
 * once every client is welcomed the sockets are held for `--hold` seconds (default 10) and counted again.
 * Open files of every gateway and fleet worker are read from /proc at the peak.
 *
 * JSON last line: `sockets_held` (connected at the end of the hold), `connect_errors` (failed attempts, all
 * retried), `ramp_s` (fleet start to every client welcomed), `connect_p99_ms` (attempt to welcome, the fleet's HDR
 * histogram), `max_open_files` (the fullest process) and the connect percentiles' min/median/max over instances.
 */
import { readdirSync } from "node:fs";
import { ClientFleet } from "../harness/fleet/client-fleet.js";
import { LocalRuntime } from "../harness/runtime/local-runtime.js";
import { sweepOrphans } from "../harness/runtime/sweep.js";
import { HarnessError } from "../harness/errors.js";
import { numericFlags } from "./numeric-flags.js";
import { spreadOf, type Spread } from "../harness/common/spread.js";

/**
 * `ramp`: new connections per second across the fleet, 0 = as fast as the workers go. 2,000/s by default, half of
 * what the fleet reaches unpaced here. History: while the local runtime's proxy server ran inside the harness process
 * (its loop stood still whenever the harness's did, and with it every gateway's Redis link), an unpaced ramp made
 * the gateways' registry writes time out (4,306 of 40,000 connected after 10 minutes, 200,000 refusals) and even
 * 300/s put the connect p99 at 0.8-1.1 s above 30,000 held sockets, so the default was 250/s (161 s to ramp, p99
 * 70-478 ms). With the proxy server in a process of its own (2026-12-05, one 2-core machine, 0 connect errors in
 * every run): 250/s 160.8 s and p99 70 ms; 500/s 80.7 s, 159 ms; 1,000/s 40.7 s, 201 ms; 2,000/s 20.7 and 20.8 s,
 * 218 ms twice; unpaced 9.1 and 9.9 s with p99 582 and 625 ms (the connects queue behind each other). The gateway's
 * 1 s Redis command timeout is the product's and stays.
 */
const DEFAULTS = { sockets: 40_000, instances: 5, hold: 10, seed: 40_000, ramp: 2_000 };
/** Most clients per fleet worker: two sockets each during a move still leave 4,000 files of the 20,000 limit. */
const MAX_SOCKETS_PER_WORKER = 8_000;
/** Longest the ramp may take before the benchmark gives up: 40,000 connects at 400/s on a loaded 2-core machine. */
const RAMP_TIMEOUT_MS = 600_000;
/** Open files per process allowed on the machines (hard limit). */
const OPEN_FILES_LIMIT = 20_000;

function parseArgs(args: string[]): typeof DEFAULTS {
  const options = numericFlags(args, DEFAULTS, { min: (name) => (name === "ramp" ? 0 : 1), hint: "positive integers; --ramp 0 for no limit" });
  if (options.sockets / options.instances >= OPEN_FILES_LIMIT / 2) throw new HarnessError("HARNESS_ERR_USAGE", `--sockets ${options.sockets} over --instances ${options.instances} puts ${Math.ceil(options.sockets / options.instances)} sockets on a gateway: keep it below ${OPEN_FILES_LIMIT / 2} (open-files limit ${OPEN_FILES_LIMIT})`);
  return options;
}

/** Open file descriptors of a process (0 once it is gone). */
function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

const stats = (values: number[]): Spread => spreadOf(values);

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  sweepOrphans();
  const runId = `bench-scale-${Date.now().toString(36)}`;
  const errorReasons: Record<string, number> = {};
  const runtime = await new LocalRuntime({ runId, instances: options.instances }).start();
  let fleetStarted: Awaited<ReturnType<ClientFleet["start"]>> | undefined;
  try {
    const targets = runtime.instances.map((i) => i.wsUrl);
    const started = performance.now();
    fleetStarted = await new ClientFleet({
      targets,
      clients: options.sockets,
      authSecret: runtime.authSecret,
      seed: options.seed,
      maxSocketsPerWorker: MAX_SOCKETS_PER_WORKER,
      rampPerSecond: options.ramp,
      runId,
      onEvent: (event) => {
        if (event.type !== "connect_error") return;
        const reason = `${event.reason}${event.status !== undefined ? ` ${event.status}` : ""}`;
        errorReasons[reason] = (errorReasons[reason] ?? 0) + 1;
      },
    }).start();
    const fleet = fleetStarted;
    process.stdout.write(`ramping ${options.sockets} clients over ${fleet.workerPids.length} workers to ${options.instances} gateways\n`);
    const progress = setInterval(() => process.stdout.write(`  ${Math.round((performance.now() - started) / 1_000)} s: ${fleet.snapshot().connected} connected, connect errors ${JSON.stringify(errorReasons)}\n`), 5_000);
    try {
      await fleet.waitForConnected(options.sockets, RAMP_TIMEOUT_MS);
    } finally {
      clearInterval(progress);
    }
    const rampS = (performance.now() - started) / 1_000;
    const pids = [...runtime.instances.map((i) => i.pid).filter((p): p is number => p !== undefined), ...fleet.workerPids];
    const files = pids.map(openFiles);
    const atPeak = fleet.snapshot();
    process.stdout.write(`all ${atPeak.connected} connected in ${rampS.toFixed(1)} s; holding ${options.hold} s\n`);
    await new Promise((resolve) => setTimeout(resolve, options.hold * 1_000));
    const held = fleet.snapshot().connected;
    const summary = await fleet.stop();
    fleetStarted = undefined;
    const connect = summary.latency.connect;
    const perGateway = Object.values(atPeak.byInstance);
    process.stdout.write(`open files per process (gateways, then workers): ${files.join(", ")}\n`);
    process.stdout.write(`sockets per gateway at the peak: min/median/max ${Object.values(stats(perGateway)).join(" / ")}\n`);
    process.stdout.write(`connect latency ms: p50 ${connect?.p50} p90 ${connect?.p90} p99 ${connect?.p99} max ${connect?.max}\n`);
    const result = {
      benchmark: "scale",
      sockets: options.sockets,
      instances: options.instances,
      workers: pids.length - options.instances,
      sockets_held: held,
      connect_errors: summary.connectErrors,
      connect_errors_by_reason: errorReasons,
      ramp_s: Math.round(rampS * 10) / 10,
      connect_p99_ms: connect?.p99 ?? null,
      connect_p50_ms: connect?.p50 ?? null,
      max_open_files: Math.max(...files),
      sockets_per_gateway: stats(perGateway),
      hold_s: options.hold,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await fleetStarted?.stop().catch(() => undefined);
    await runtime.stop();
  }
}
