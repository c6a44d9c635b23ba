import { setTimeout as delay } from "node:timers/promises";
import { metricsText, parsePrometheusLine } from "../recorder/metrics-scraper.js";
import type { CheckResult } from "../report/run-result.js";
import { firstOf, type Check, type CheckContext } from "./check.js";
import { buildClientHistories, currentSocket } from "./client-history.js";
import { runCounterExperiments, type ExperimentOutcome } from "./counter-experiment.js";
import { compareCounters, readCounters, tallyFleet, type CounterReadings, type CounterShortfall } from "./metrics-counters.js";

const POLL_INTERVAL_MS = 250;
/** Each scrape's bound: a settled instance answers in milliseconds. */
const SCRAPE_TIMEOUT_MS = 2_000;
const CONNECTIONS = "traffic_cop_connections";
const REDIS_UP = "traffic_cop_redis_up";
/** A `# TYPE` or `# HELP` line of {@link CONNECTIONS}. */
const DECLARES_CONNECTIONS = new RegExp(`^#\\s*(?:TYPE|HELP)\\s+${CONNECTIONS}\\s`);
/** Tenant label of the open sockets of a client whose history names no tenant (never the case with the fleet). */
const UNKNOWN_TENANT = "";

/** What one instance's metrics page says of the two gauges judged, or why it says nothing. */
export interface InstanceMetrics {
  /**
   * `traffic_cop_connections` by `tenant` (`{}` when the page declares the metric, `# TYPE` or `# HELP`, with no
   * series: a labelled gauge of an instance holding nothing); `undefined` when the page does not have it at all.
   */
  connections?: Record<string, number>;
  /** `traffic_cop_redis_up`; `undefined` when absent. */
  redisUp?: number;
  /** The page did not answer 200. */
  unanswered?: true;
}

/** The two gauges of a metrics page (Prometheus text); any other series, malformed line or hostile label is ignored. */
export function readGauges(text: string): InstanceMetrics {
  const out: InstanceMetrics = {};
  for (const raw of text.split("\n")) {
    const line = raw.trimStart().replace(/\r$/, "");
    if (DECLARES_CONNECTIONS.test(line)) {
      out.connections ??= {};
      continue;
    }
    if (!line.startsWith(CONNECTIONS) && !line.startsWith(REDIS_UP)) continue;
    const sample = parsePrometheusLine(line);
    if (!sample || !Number.isFinite(sample.value)) continue;
    if (sample.name === CONNECTIONS) {
      const tenant = sample.labels.find(([label]) => label === "tenant")?.[1] ?? UNKNOWN_TENANT;
      const connections = (out.connections ??= {});
      connections[tenant] = (connections[tenant] ?? 0) + sample.value;
    } else if (sample.name === REDIS_UP) out.redisUp = sample.value;
  }
  return out;
}

/** One instance's disagreement: what the harness counts against what the instance says. */
export interface MetricsDisagreement {
  instance: string;
  /** Open sockets the fleet holds on the instance, by tenant, and their sum. */
  fleet: Record<string, number>;
  fleet_total: number;
  /** What its page says: by tenant and summed, `redis_up`, or that it did not answer. */
  reported?: Record<string, number>;
  reported_total?: number;
  redis_up?: number;
  unanswered?: true;
}

/**
 * Compares each instance's gauges with the fleet's open sockets on it (`expected`: instance → tenant → count): the
 * sum and every tenant's count must be equal (a tenant at 0 may be absent from the page), and `redis_up` 1 where the
 * page has it. Returns the instances that disagree.
 */
export function compareGauges(expected: ReadonlyMap<string, Record<string, number>>, reported: Readonly<Record<string, InstanceMetrics>>): MetricsDisagreement[] {
  const out: MetricsDisagreement[] = [];
  for (const [instance, metrics] of Object.entries(reported)) {
    const fleet = expected.get(instance) ?? {};
    const fleetTotal = Object.values(fleet).reduce((a, b) => a + b, 0);
    const page = metrics.connections;
    const tenants = new Set([...Object.keys(fleet), ...Object.keys(page ?? {})]);
    const agree =
      !metrics.unanswered &&
      page !== undefined &&
      [...tenants].every((tenant) => (fleet[tenant] ?? 0) === (page[tenant] ?? 0)) &&
      (metrics.redisUp === undefined || metrics.redisUp === 1);
    if (agree) continue;
    out.push({
      instance,
      fleet,
      fleet_total: fleetTotal,
      ...(page ? { reported: page, reported_total: Object.values(page).reduce((a, b) => a + b, 0) } : {}),
      ...(metrics.redisUp !== undefined ? { redis_up: metrics.redisUp } : {}),
      ...(metrics.unanswered ? { unanswered: true as const } : {}),
    });
  }
  return out;
}

/** The fleet's open sockets at the end of the history, by instance and tenant. */
function fleetSockets(context: CheckContext): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const history of buildClientHistories(context.events).values()) {
    const socket = currentSocket(history);
    if (!socket) continue;
    const tenant = history.tenant_id ?? UNKNOWN_TENANT;
    const counts = out.get(socket.instance_id) ?? {};
    counts[tenant] = (counts[tenant] ?? 0) + 1;
    out.set(socket.instance_id, counts);
  }
  return out;
}

/**
 * `metrics-agree`: once settled, what every live instance says of itself on its metrics page (docs/protocol.md,
 * "Metrics") matches what the harness sees: `traffic_cop_connections` equals the fleet's open sockets on that
 * instance, in sum and tenant by tenant, and `traffic_cop_redis_up` is 1; and each counter the run's events bound
 * (welcomes, acknowledged routes and their deliveries, HTTP route posts, error frames and refused upgrades:
 * ./metrics-counters.ts) is at least what the fleet and the harness's HTTP loads saw that instance do, on every
 * instance whose process served the whole run; and then, on every live instance, each counter moves by exactly what a
 * few requests of known effect are worth (./counter-experiment.ts), which catches a counter that counts too much.
 * A dashboard or an alert built on them then tells the truth. Polls for up to `settleBoundMs` (a closed socket may
 * take a heartbeat to be noticed), and reports the last comparison. Not judged, and said so, when the SUT declares no
 * metrics path or no instance's page has `traffic_cop_connections` (a gateway whose metrics are named its own way:
 * the names are the reference gateway's contract, not every SUT's).
 */
export const metricsAgree: Check = async (context) => {
  const t0 = Date.now();
  const name = "metrics-agree";
  const expected = {
    connections_gauge: "the fleet's open sockets on each live instance, by tenant",
    redis_up: 1,
    counters: "at least what the harness (its fleet and HTTP loads) saw each instance do, where its process served the whole run",
    counter_experiment: "on every live instance, each counter moved by exactly what a few requests of known effect are worth (./counter-experiment.ts), on one of 3 attempts",
    within_ms: context.thresholds.settleBoundMs,
  };
  if (context.metricsPath === null || context.metricsPath === undefined) {
    return { name, pass: true, expected, actual: { judged: false, reason: "the SUT declares no metrics path" }, evidence: {}, duration_ms: Date.now() - t0 };
  }
  const path = context.metricsPath;
  const fleet = fleetSockets(context);
  const tallies = await tallyFleet(context);
  let reported: Record<string, InstanceMetrics> = {};
  let disagreements: MetricsDisagreement[] = [];
  let counters: { shortfalls: CounterShortfall[]; judged: string[] } = { shortfalls: [], judged: [] };
  let withCounters = false;
  for (;;) {
    const live = context.liveInstances();
    const pages = await Promise.all(live.map(async (id) => [id, await metricsText(`${context.instanceUrls[id]}${path}`, SCRAPE_TIMEOUT_MS)] as const));
    reported = Object.fromEntries(pages.map(([id, text]) => [id, text === undefined ? { unanswered: true as const } : readGauges(text)]));
    disagreements = compareGauges(fleet, reported);
    const readings = Object.fromEntries(pages.map(([id, text]): [string, CounterReadings | undefined] => [id, text === undefined ? undefined : readCounters(text)]));
    withCounters = Object.values(readings).some((page) => page !== undefined && Object.keys(page).length > 0);
    counters = compareCounters(tallies, readings);
    const agree = disagreements.length === 0 && counters.shortfalls.length === 0;
    if (agree || Date.now() - t0 >= context.thresholds.settleBoundMs || context.signal?.aborted) break;
    await delay(POLL_INTERVAL_MS);
  }
  const instances = Object.keys(reported);
  const exposing = Object.values(reported).filter((m) => m.connections !== undefined).length;
  const answered = Object.values(reported).filter((m) => !m.unanswered).length;
  const fleetTotal = [...fleet.values()].reduce((sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0), 0);
  if (exposing === 0 && answered === instances.length && instances.length > 0) {
    return { name, pass: true, expected, actual: { judged: false, reason: `no instance's ${path} has ${CONNECTIONS}`, instances: instances.length }, evidence: {}, duration_ms: Date.now() - t0 };
  }
  // After the comparisons above, which its own sockets would disturb; only where some page has the counters.
  const experiment: ExperimentOutcome | undefined = withCounters ? await runCounterExperiments(context, path) : undefined;
  const result: CheckResult = {
    name,
    pass: instances.length > 0 && fleetTotal > 0 && disagreements.length === 0 && counters.shortfalls.length === 0 && (experiment?.disagreed.length ?? 0) === 0,
    expected,
    actual: {
      judged: true,
      instances: instances.length,
      fleet_sockets: fleetTotal,
      disagreeing_instances: disagreements.length,
      counters_judged_on: counters.judged.length,
      counter_shortfalls: counters.shortfalls.length,
      ...(experiment
        ? { counter_experiment: { instances_agreed: experiment.agreed.length, instances_disagreed: experiment.disagreeing.length, attempts: experiment.attempts } }
        : { counter_experiment: "not made: no instance's page has the counters" }),
    },
    evidence: {
      disagreements: firstOf(disagreements),
      ...(counters.shortfalls.length > 0 ? { counter_shortfalls: firstOf(counters.shortfalls) } : {}),
      ...(experiment && experiment.disagreed.length > 0 ? { counter_experiment_disagreements: firstOf(experiment.disagreed) } : {}),
      ...(tallies.restarted.size > 0 ? { counters_not_judged: { instances: [...tallies.restarted].sort(), reason: "their process restarted or stopped during the run: its counters began again" } } : {}),
      ...(instances.length === 0 ? { reason: "no live instance to read" } : fleetTotal === 0 ? { reason: "no open socket to compare with" } : {}),
    },
    duration_ms: Date.now() - t0,
  };
  return result;
};
