import { parsePrometheusLine, type PrometheusSample } from "../recorder/metrics-scraper.js";
import type { RunEvent } from "../events/run-events.js";
import { allEvents, type CheckContext } from "./check.js";

/**
 * The counters of an instance's metrics page (docs/protocol.md, "Metrics") that the fleet's own events bound from
 * below. A field is `undefined` when the page does not have that metric at all (a SUT that names its metrics its
 * own way, or exposes only some of the reference's): such a counter is not judged.
 */
export interface CounterReadings {
  /** `traffic_cop_registrations_total` of kinds `new` and `resume` (a `reconcile` is no welcome). */
  registrations?: number;
  /** `traffic_cop_route_requests_total{origin="ws"}`. */
  routeRequestsWs?: number;
  /** `traffic_cop_route_requests_total{origin="http"}`. */
  routeRequestsHttp?: number;
  /** `traffic_cop_routes_total`, both paths. */
  routes?: number;
  /** `traffic_cop_errors_total` by `code`. */
  errors?: Record<string, number>;
  /** `traffic_cop_upgrades_refused_total` by `status`. */
  upgradesRefused?: Record<string, number>;
}

export const REGISTRATIONS = "traffic_cop_registrations_total";
export const ROUTE_REQUESTS = "traffic_cop_route_requests_total";
export const ROUTES = "traffic_cop_routes_total";
export const ERRORS = "traffic_cop_errors_total";
export const UPGRADES_REFUSED = "traffic_cop_upgrades_refused_total";
export const UNREGISTRATIONS = "traffic_cop_unregistrations_total";
const COUNTERS = [REGISTRATIONS, ROUTE_REQUESTS, ROUTES, ERRORS, UPGRADES_REFUSED] as const;
/** The counters {@link readCounterSeries} reads: those the floors judge, and the unlabelled unregistrations. */
const SERIES_COUNTERS = [...COUNTERS, UNREGISTRATIONS] as const;

/** Metrics to read off a page, and the `# TYPE` or `# HELP` line of any of them. */
interface CounterSet {
  readonly metrics: readonly string[];
  readonly declares: RegExp;
}

function counterSet(metrics: readonly string[]): CounterSet {
  return { metrics, declares: new RegExp(`^#\\s*(?:TYPE|HELP)\\s+(${metrics.join("|")})\\s`) };
}

const JUDGED = counterSet(COUNTERS);
const SERIES_JUDGED = counterSet(SERIES_COUNTERS);

/**
 * Codes of errors the fleet makes up itself (its socket closed, it stopped, a frame it could not read): no gateway
 * sent them.
 */
const FLEET_OWN_CODE = /^FLEET_/;

function label(labels: readonly [string, string][], name: string): string | undefined {
  return labels.find(([key]) => key === name)?.[1];
}

/**
 * Calls `visit` for each line of a metrics page (Prometheus text) about one of `counters`: with the metric's name
 * alone for a `# TYPE` or `# HELP` line (the page has the metric, with or without series), with the parsed sample
 * for a sample line. Any other series, malformed line or hostile label is skipped.
 */
function scanCounters(text: string, counters: CounterSet, visit: (metric: string, sample?: PrometheusSample) => void): void {
  for (const raw of text.split("\n")) {
    const line = raw.trimStart().replace(/\r$/, "");
    const declared = counters.declares.exec(line);
    if (declared) {
      visit(declared[1]!);
      continue;
    }
    if (!line.startsWith("traffic_cop_")) continue;
    const sample = parsePrometheusLine(line);
    if (sample && counters.metrics.includes(sample.name)) visit(sample.name, sample);
  }
}

function declare(out: CounterReadings, metric: string): void {
  switch (metric) {
    case REGISTRATIONS:
      out.registrations ??= 0;
      return;
    case ROUTE_REQUESTS:
      out.routeRequestsWs ??= 0;
      out.routeRequestsHttp ??= 0;
      return;
    case ROUTES:
      out.routes ??= 0;
      return;
    case ERRORS:
      out.errors ??= {};
      return;
    case UPGRADES_REFUSED:
      out.upgradesRefused ??= {};
      return;
  }
}

/** The judged counters of a metrics page (Prometheus text); any other series, malformed line or hostile label is ignored. */
export function readCounters(text: string): CounterReadings {
  const out: CounterReadings = {};
  scanCounters(text, JUDGED, (metric, sample) => {
    // The page has the metric; a value that is no number (NaN, infinite) counts nothing.
    declare(out, metric);
    if (!sample || !Number.isFinite(sample.value)) return;
    switch (metric) {
      case REGISTRATIONS: {
        const kind = label(sample.labels, "kind");
        if (kind === "new" || kind === "resume") out.registrations! += sample.value;
        break;
      }
      case ROUTE_REQUESTS: {
        const origin = label(sample.labels, "origin");
        if (origin === "ws") out.routeRequestsWs! += sample.value;
        else if (origin === "http") out.routeRequestsHttp! += sample.value;
        break;
      }
      case ROUTES:
        out.routes! += sample.value;
        break;
      case ERRORS: {
        const code = label(sample.labels, "code");
        if (code !== undefined) out.errors![code] = (out.errors![code] ?? 0) + sample.value;
        break;
      }
      case UPGRADES_REFUSED: {
        const status = label(sample.labels, "status");
        if (status !== undefined) out.upgradesRefused![status] = (out.upgradesRefused![status] ?? 0) + sample.value;
        break;
      }
    }
  });
  return out;
}

/** The label that splits each counter into series (docs/protocol.md, "Metrics"); none for an unlabelled one. */
const SERIES_LABEL: Readonly<Record<(typeof SERIES_COUNTERS)[number], string | undefined>> = {
  [UNREGISTRATIONS]: undefined,
  [REGISTRATIONS]: "kind",
  [ROUTE_REQUESTS]: "origin",
  [ROUTES]: "path",
  [ERRORS]: "code",
  [UPGRADES_REFUSED]: "status",
};

/** The judged counters of a page series by series, for exact comparisons of two readings. */
export interface CounterSeries {
  /** The judged counters the page has (declared by `# TYPE`/`# HELP`, or with a series). */
  declared: Set<string>;
  /** Value per series, keyed as on the page: `traffic_cop_routes_total{path="local"}`; summed over other labels. */
  values: Map<string, number>;
}

/** The name of one series of a counter, as {@link CounterSeries} keys it (an unlabelled counter's is its name). */
export function seriesName(metric: string, value: string): string {
  const name = SERIES_LABEL[metric as (typeof SERIES_COUNTERS)[number]];
  return name === undefined ? metric : `${metric}{${name}=${JSON.stringify(value)}}`;
}

/**
 * The judged counters of a metrics page series by series (Prometheus text). A sample without the counter's label,
 * or whose value is no finite number, counts nothing; any other series, malformed line or hostile label is ignored.
 */
export function readCounterSeries(text: string): CounterSeries {
  const out: CounterSeries = { declared: new Set(), values: new Map() };
  scanCounters(text, SERIES_JUDGED, (metric, sample) => {
    out.declared.add(metric);
    if (!sample) return;
    const name = SERIES_LABEL[metric as (typeof SERIES_COUNTERS)[number]];
    const value = name === undefined ? "" : label(sample.labels, name);
    if (value === undefined || !Number.isFinite(sample.value)) return;
    const key = seriesName(metric, value);
    out.values.set(key, (out.values.get(key) ?? 0) + sample.value);
  });
  return out;
}

/** A series whose change over an experiment is not the one expected. */
export interface SeriesMismatch {
  instance: string;
  series: string;
  expected: number;
  changed_by: number;
}

/**
 * The series of `before` → `after` on `instance` that did not change by exactly `expected` (series not named there:
 * by 0), among the counters both readings have. A counter the page lacks is not judged.
 */
export function compareSeriesDeltas(instance: string, before: CounterSeries, after: CounterSeries, expected: ReadonlyMap<string, number>): SeriesMismatch[] {
  const judged = (series: string) => {
    const metric = series.includes("{") ? series.slice(0, series.indexOf("{")) : series;
    return before.declared.has(metric) && after.declared.has(metric);
  };
  const names = new Set([...before.values.keys(), ...after.values.keys(), ...expected.keys()]);
  const out: SeriesMismatch[] = [];
  for (const series of [...names].sort()) {
    if (!judged(series)) continue;
    const changedBy = (after.values.get(series) ?? 0) - (before.values.get(series) ?? 0);
    const want = expected.get(series) ?? 0;
    if (changedBy !== want) out.push({ instance, series, expected: want, changed_by: changedBy });
  }
  return out;
}

/** What the fleet (and the harness's HTTP loads) saw one instance do: each a floor of one of its counters. */
export interface FleetTally {
  /** Welcomes it sent (each a `new` or `resume` registration). */
  welcomes: number;
  /** Routes the fleet sent through it that it acknowledged. */
  routesAcked: number;
  /** The deliveries those acks report. */
  delivered: number;
  /** Route posts of the harness's HTTP loads (`Step.httpLoad`) it answered with a 2xx. */
  httpRoutesOk: number;
  /** Error frames it sent, by code. */
  errorFrames: Record<string, number>;
  /** Upgrades it refused, by the refusal's code (its reason phrase). */
  refusalsByCode: Record<string, number>;
  /** Upgrades it refused, by HTTP status. */
  refusalsByStatus: Record<string, number>;
}

/** The fleet's tallies per instance, and the instances whose counters started again during the run. */
export interface FleetTallies {
  byInstance: Map<string, FleetTally>;
  /**
   * Instances whose process stopped, exited or started a second time (not woken from a pause): their counters began
   * again (or belong to a process gone), so the run's events do not bound them.
   */
  restarted: Set<string>;
}

function tallyOf(tallies: Map<string, FleetTally>, instance: string): FleetTally {
  let tally = tallies.get(instance);
  if (!tally) tallies.set(instance, (tally = { welcomes: 0, routesAcked: 0, delivered: 0, httpRoutesOk: 0, errorFrames: {}, refusalsByCode: {}, refusalsByStatus: {} }));
  return tally;
}

function add(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

const TALLIED: RunEvent["type"][] = ["welcome", "disconnect", "message_sent", "message_acked", "message_error", "connect_error", "process_state", "http_load"];

/**
 * One pass over the run's events (streamed: message events are not all in memory on long runs). Attribution is
 * only ever to the instance that certainly answered, so that a tally never exceeds what a truthful counter says:
 * - an ack to the instance its route was sent through (`message_sent.instance_id`);
 * - an error frame naming a route to that route's instance; one naming none to the instance of the client's only
 *   open socket (none while it holds two, as during a move);
 * - a refused upgrade to the instance its target welcomed clients from, when that target only ever led to one;
 * - an HTTP load's 2xx answers to route posts to the instance it flooded (its statistics name it).
 */
export async function tallyFleet(context: Pick<CheckContext, "events" | "readEvents">): Promise<FleetTallies> {
  const byInstance = new Map<string, FleetTally>();
  const restarted = new Set<string>();
  /** Instances seen started once (a second start is a new process), and each one's last state. */
  const started = new Set<string>();
  const lastState = new Map<string, string>();
  /** Routes sent and not yet answered: message id → the instance they went through. */
  const inFlight = new Map<string, string>();
  /** Per client, the instances of its open sockets. */
  const open = new Map<string, string[]>();
  /** Per target, the instances it welcomed clients from. */
  const targets = new Map<string, Set<string>>();
  const refusals = new Map<string, { byCode: Record<string, number>; byStatus: Record<string, number> }>();
  for await (const event of allEvents(context, TALLIED)) {
    if (event.source === "process" && event.type === "process_state") {
      if (event.state === "stopping" || event.state === "stopped" || event.state === "exited" || event.state === "start_failure") restarted.add(event.target);
      // A process woken from a pause (SIGCONT) is the same process, its counters kept.
      if (event.state === "started" && lastState.get(event.target) !== "paused") {
        if (started.has(event.target)) restarted.add(event.target);
        started.add(event.target);
      }
      lastState.set(event.target, event.state);
      continue;
    }
    if (event.source === "probe" && event.type === "http_load") {
      if (event.endpoint !== "route") continue;
      for (const { instance, ok } of event.by_instance) if (typeof ok === "number" && ok > 0) tallyOf(byInstance, instance).httpRoutesOk += ok;
      continue;
    }
    if (event.source !== "fleet") continue;
    switch (event.type) {
      case "welcome": {
        if (event.instance_id === undefined) break;
        tallyOf(byInstance, event.instance_id).welcomes++;
        const sockets = open.get(event.client) ?? [];
        sockets.push(event.instance_id);
        open.set(event.client, sockets);
        const seen = targets.get(event.target) ?? new Set<string>();
        seen.add(event.instance_id);
        targets.set(event.target, seen);
        break;
      }
      case "disconnect": {
        const sockets = open.get(event.client);
        if (!sockets) break;
        const at = sockets.indexOf(event.instance_id ?? "");
        sockets.splice(at === -1 ? 0 : at, 1);
        break;
      }
      case "message_sent":
        if (event.instance_id !== undefined) inFlight.set(event.message_id, event.instance_id);
        break;
      case "message_acked": {
        const instance = inFlight.get(event.message_id);
        if (instance === undefined) break;
        inFlight.delete(event.message_id);
        const tally = tallyOf(byInstance, instance);
        tally.routesAcked++;
        tally.delivered += event.delivered;
        break;
      }
      case "message_error": {
        const routed = event.message_id === undefined ? undefined : inFlight.get(event.message_id);
        if (event.message_id !== undefined) inFlight.delete(event.message_id);
        if (FLEET_OWN_CODE.test(event.code)) break;
        const sockets = open.get(event.client);
        const instance = routed ?? (event.message_id === undefined && sockets?.length === 1 ? sockets[0] : undefined);
        if (instance !== undefined) add(tallyOf(byInstance, instance).errorFrames, event.code);
        break;
      }
      case "connect_error": {
        if (event.status === undefined) break;
        const target = refusals.get(event.target) ?? { byCode: {}, byStatus: {} };
        add(target.byStatus, String(event.status));
        if (event.status_text !== undefined) add(target.byCode, event.status_text);
        refusals.set(event.target, target);
        break;
      }
      default:
        break;
    }
  }
  for (const [target, counts] of refusals) {
    const instances = targets.get(target);
    if (instances?.size !== 1) continue;
    const tally = tallyOf(byInstance, [...instances][0]!);
    for (const [code, n] of Object.entries(counts.byCode)) add(tally.refusalsByCode, code, n);
    for (const [status, n] of Object.entries(counts.byStatus)) add(tally.refusalsByStatus, status, n);
  }
  return { byInstance, restarted };
}

/** A counter below what the harness saw its instance do. */
export interface CounterShortfall {
  instance: string;
  /** The series, as on the page: `traffic_cop_errors_total{code="RATE_LIMITED"}`. */
  counter: string;
  /** What the harness saw (its fleet and its HTTP loads): the counter's floor. */
  harness_saw: number;
  reported: number;
}

/**
 * Compares each instance's counters with the tallies: every counter the page has must be at least what the
 * harness saw that instance do (more is allowed: the harness's own probes and floods connect and route too, and
 * not all of them are events). Instances whose process restarted are left out. Returns the shortfalls and the
 * instances judged (those whose page has at least one of the counters).
 */
export function compareCounters(tallies: FleetTallies, reported: Readonly<Record<string, CounterReadings | undefined>>): { shortfalls: CounterShortfall[]; judged: string[] } {
  const shortfalls: CounterShortfall[] = [];
  const judged: string[] = [];
  for (const [instance, page] of Object.entries(reported)) {
    if (!page || tallies.restarted.has(instance) || Object.keys(page).length === 0) continue;
    judged.push(instance);
    const fleet = tallies.byInstance.get(instance);
    if (!fleet) continue;
    const floor = (counter: string, saw: number, value: number | undefined) => {
      if (value !== undefined && value < saw) shortfalls.push({ instance, counter, harness_saw: saw, reported: value });
    };
    floor(`${REGISTRATIONS}{kind=~"new|resume"}`, fleet.welcomes, page.registrations);
    floor(`${ROUTE_REQUESTS}{origin="ws"}`, fleet.routesAcked, page.routeRequestsWs);
    floor(`${ROUTE_REQUESTS}{origin="http"}`, fleet.httpRoutesOk, page.routeRequestsHttp);
    floor(ROUTES, fleet.delivered, page.routes);
    if (page.errors) {
      const codes = new Set([...Object.keys(fleet.errorFrames), ...Object.keys(fleet.refusalsByCode)]);
      for (const code of codes) floor(`${ERRORS}{code="${code}"}`, (fleet.errorFrames[code] ?? 0) + (fleet.refusalsByCode[code] ?? 0), page.errors[code] ?? 0);
    }
    if (page.upgradesRefused) {
      for (const [status, n] of Object.entries(fleet.refusalsByStatus)) floor(`${UPGRADES_REFUSED}{status="${status}"}`, n, page.upgradesRefused[status] ?? 0);
    }
  }
  return { shortfalls, judged };
}
