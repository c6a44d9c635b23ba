import type { LatencySummary } from "../common/histogram.js";
import type { FleetSnapshot } from "../fleet/client-fleet.js";
import type { LatencyPercentiles, Sample } from "../report/run-result.js";
import { scrapeMetrics } from "./metrics-scraper.js";
import type { RegistryReader } from "./registry-reader.js";

/** Where a sample's data comes from. */
export interface SampleSources {
  /** The fleet's live view, or `undefined` before the fleet starts. */
  fleet(): FleetSnapshot | undefined;
  /** Direct reader of the registry in Redis. */
  registry: RegistryReader;
  /** `/metrics` URL per instance id (`null` when the SUT has none). */
  metricsUrls(): Record<string, string | null>;
  /** Descriptions of the faults in effect. */
  activeFaults(): string[];
  /**
   * The continuous state audit of this sample (`StateAuditor.tick`: it records its findings as events itself and
   * never rejects). Optional: without it a sample reads only the counts.
   */
  audit?(): Promise<void>;
}

function percentiles(summary: LatencySummary | undefined): LatencyPercentiles | undefined {
  if (!summary) return undefined;
  return { count: summary.count, p50: summary.p50, p90: summary.p90, p99: summary.p99, max: summary.max };
}

/** Builds the recorder's `takeSample` for these sources; message rates are differences from the previous sample. */
export function createSampler(sources: SampleSources): (base: { t: number; elapsed_ms: number; phase: string }) => Promise<Sample> {
  let previous: { t: number; sent: number; acked: number; received: number; errors: number } | undefined;
  return async (base) => {
    const snapshot = sources.fleet();
    const [registry, ping, slow, gateways] = await Promise.all([
      sources.registry.counts().catch((error: unknown) => ({ error: (error as Error).message })),
      sources.registry.ping().catch(() => null),
      sources.registry.slowCommands().catch(() => null),
      Promise.all(
        Object.entries(sources.metricsUrls()).map(async ([id, url]) => [id, url === null ? { up: true } : await scrapeMetrics(url)] as const),
      ).then((entries) => Object.fromEntries(entries)),
      sources.audit?.(),
    ]);
    const messages = snapshot?.messages ?? { sent: 0, acked: 0, received: 0, errors: 0, delivered: 0 };
    const seconds = previous ? Math.max(0.001, (base.t - previous.t) / 1_000) : 1;
    const rate = (key: "sent" | "acked" | "received" | "errors") => (previous ? Math.round(((messages[key] - previous[key]) / seconds) * 10) / 10 : 0);
    const rates = { sent: rate("sent"), acked: rate("acked"), received: rate("received"), errors: rate("errors") };
    previous = { t: base.t, sent: messages.sent, acked: messages.acked, received: messages.received, errors: messages.errors };
    const latency: Record<string, LatencyPercentiles> = {};
    for (const key of ["connect", "ack", "delivery"] as const) {
      const value = percentiles(snapshot?.latency?.[key]);
      if (value) latency[key] = value;
    }
    return {
      ...base,
      fleet: snapshot
        ? { connected: snapshot.connected, by_instance: { ...snapshot.byInstance }, reconnecting: snapshot.reconnecting, pending: snapshot.pending, messages: { ...messages }, latency }
        : null,
      rates,
      registry,
      redis_ping_ms: ping === null ? null : Math.round(ping * 100) / 100,
      redis_slow: slow,
      gateways,
      active_faults: sources.activeFaults(),
    };
  };
}
