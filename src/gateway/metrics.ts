/**
 * A small hand-written Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
 * with labels. Enough for the gateway; no dependency.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return "";
  // Most series have one label (counted on every connect): no sort, no intermediate arrays.
  if (names.length === 1) return `{${names[0]}="${escapeLabel(labels[names[0]!] ?? "")}"}`;
  names.sort();
  return `{${names.map((name) => `${name}="${escapeLabel(labels[name] ?? "")}"`).join(",")}}`;
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(value: string): string {
  // Label values are almost always plain; skip the three replacements on the hot path.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

interface Metric {
  render(): string;
}

/** A monotonically increasing count. */
export class Counter implements Metric {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  /** The current value of one series. */
  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [key, value] of this.#values) lines.push(`${this.name}${key} ${value}`);
    return lines.join("\n");
  }
}

/** A value that goes up and down; `collect` may refresh it just before rendering. */
export class Gauge implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly collect?: (gauge: Gauge) => void) {}

  /** Sets the series of `labels` to `value`. */
  set(labels: Labels, value: number): void {
    this.#values.set(labelKey(labels), value);
  }

  /** Drops every series (before a `collect` refills them). */
  reset(): void {
    this.#values = new Map();
  }

  render(): string {
    this.collect?.(this);
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [key, value] of this.#values) lines.push(`${this.name}${key} ${value}`);
    return lines.join("\n");
  }
}

/** Default histogram buckets in seconds: 0.1 ms to 5 s. */
export const DEFAULT_BUCKETS_S: readonly number[] = Object.freeze([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

/** A distribution of observations (e.g. latencies in seconds) in cumulative buckets. */
export class Histogram implements Metric {
  readonly #series = new Map<string, { labels: Labels; data: HistogramSeries }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[] = DEFAULT_BUCKETS_S) {}

  /** Records one observation in the series of `labels`. */
  observe(labels: Labels, value: number): void {
    this.#record(this.#data(labels), value);
  }

  /** A recorder of observations in the series of `labels`, for hot paths: the series is looked up once. */
  observer(labels: Labels): (value: number) => void {
    const data = this.#data(labels);
    return (value) => this.#record(data, value);
  }

  #data(labels: Labels): HistogramSeries {
    const key = labelKey(labels);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels, data: { counts: this.buckets.map(() => 0), sum: 0, count: 0 } };
      this.#series.set(key, entry);
    }
    return entry.data;
  }

  #record(data: HistogramSeries, value: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) data.counts[i]!++;
    data.sum += value;
    data.count++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, data } of this.#series.values()) {
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket${labelKey({ ...labels, le: String(bound) })} ${data.counts[i]}`));
      lines.push(`${this.name}_bucket${labelKey({ ...labels, le: "+Inf" })} ${data.count}`);
      lines.push(`${this.name}_sum${labelKey(labels)} ${data.sum}`);
      lines.push(`${this.name}_count${labelKey(labels)} ${data.count}`);
    }
    return lines.join("\n");
  }
}

/** Every metric the gateway exports, named `traffic_cop_*`. */
export class GatewayMetrics {
  readonly connections: Gauge;
  readonly registrations = new Counter("traffic_cop_registrations_total", "Connection records written, by kind (new, resume, reconcile).");
  readonly unregistrations = new Counter("traffic_cop_unregistrations_total", "Connection records removed on close or drain.");
  readonly heartbeats = new Counter("traffic_cop_heartbeats_total", "Connection TTLs refreshed by batched heartbeats.");
  readonly heartbeatBatches = new Counter("traffic_cop_heartbeat_batches_total", "Batched heartbeat round trips, by result (ok, error).");
  readonly routes = new Counter("traffic_cop_routes_total", "Messages delivered by route, by path (local, remote).");
  readonly routeRequests = new Counter("traffic_cop_route_requests_total", "Route requests (WebSocket frames and HTTP posts), by origin.");
  readonly errors = new Counter("traffic_cop_errors_total", "Protocol errors answered, by code.");
  readonly redisLatency = new Histogram("traffic_cop_redis_command_duration_seconds", "Latency of registry and Redis operations, by operation.");
  readonly reconciliations = new Counter("traffic_cop_reconciliations_total", "Live local connections re-registered after their record went missing (Redis restart, reaping, outage).");
  readonly drains = new Counter("traffic_cop_drains_total", "Drains started (SIGTERM).");
  readonly reaped = new Counter("traffic_cop_reaped_records_total", "Records of dead instances removed by this instance.");
  readonly reapedInstances = new Counter("traffic_cop_reaped_instances_total", "Dead instances whose records this instance reaped.");
  readonly halfOpen = new Counter("traffic_cop_half_open_terminated_total", "Sockets terminated for missing a pong.");
  readonly slowConsumers = new Counter("traffic_cop_slow_consumers_total", "Sockets shed (close 4008) for holding more than MAX_BUFFERED_BYTES of unsent frames.");
  readonly busDuplicates = new Counter(
    "traffic_cop_bus_duplicates_total",
    "Copies of a deliver request this instance had already handled (a PUBLISH its sender's Redis client sent again), dropped.",
  );
  readonly silentLinks = new Counter(
    "traffic_cop_redis_silent_links_total",
    "Redis connections dropped and connected again after receiving nothing for three command timeouts, by connection (commands, subscriber).",
  );
  readonly sendBufferMax: Gauge;
  readonly upgradesRefused = new Counter("traffic_cop_upgrades_refused_total", "WebSocket upgrades refused, by HTTP status.");
  readonly redisUp: Gauge;

  constructor(connectionsByTenant: () => Map<string, number>, redisUp: () => boolean, maxBufferedAmount: () => number = () => 0) {
    this.sendBufferMax = new Gauge("traffic_cop_send_buffer_max_bytes", "Largest send buffer (unsent bytes) of any socket held, at scrape time.", (gauge) => gauge.set({}, maxBufferedAmount()));
    this.connections = new Gauge("traffic_cop_connections", "Open WebSocket connections held by this instance, by tenant.", (gauge) => {
      gauge.reset();
      for (const [tenant, count] of connectionsByTenant()) gauge.set({ tenant }, count);
    });
    this.redisUp = new Gauge("traffic_cop_redis_up", "1 while Redis answers this instance, else 0.", (gauge) => gauge.set({}, redisUp() ? 1 : 0));
  }

  /** The whole registry as Prometheus text. */
  render(): string {
    const metrics: Metric[] = [
      this.connections, this.registrations, this.unregistrations, this.heartbeats, this.heartbeatBatches, this.routes,
      this.routeRequests, this.errors, this.redisLatency, this.reconciliations, this.drains, this.reaped,
      this.reapedInstances, this.halfOpen, this.slowConsumers, this.busDuplicates, this.sendBufferMax, this.upgradesRefused,
      this.redisUp, this.silentLinks,
    ];
    return `${metrics.map((metric) => metric.render()).join("\n")}\n`;
  }
}
