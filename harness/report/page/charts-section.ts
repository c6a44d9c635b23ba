/** The charts: one per-second sample each, on the timeline's time axis, faults shaded, phase starts dotted. */
import type { Sample } from "../run-result.js";
import type { PageContext } from "./page-context.js";
import { runPhases, runSamples, sampleSeconds, type PageRun } from "./run-model.js";
import { registryNote, sampleSeries } from "./series.js";
import { lineChart, type Band, type LineChartSpec } from "./svg-line-chart.js";
import { DASHES, PALETTE, seriesStyle } from "./svg.js";
import { faultLabel } from "./timeline-section.js";
import { isObject, num, obj, text } from "./values.js";

type Base = Pick<LineChartSpec, "domain" | "faults" | "phases">;

function fleetOf(s: Sample): Sample["fleet"] {
  return isObject(s.fleet) ? s.fleet : null;
}

/** The charts section's HTML. */
export function renderCharts(run: PageRun, ctx: PageContext): string {
  const samples = runSamples(run);
  let html = "<h2>Charts</h2>";
  if (samples.length === 0) return `${html}<p class="empty" id="no-samples">No samples were recorded (the run ended before the first one).</p>`;
  const t0 = ctx.t0;
  const faults: Band[] = ctx.faults.map((f) => ({ id: f.id, label: faultLabel(f), start: (f.start - t0) / 1_000, end: (f.end - t0) / 1_000 }));
  const phases = runPhases(run).map((p) => ({ name: text(p.name, "?"), start: (p.start - t0) / 1_000 }));
  const base: Base = { domain: ctx.domain, faults, phases };
  const series = (pick: (s: Sample) => unknown) => sampleSeries(samples, t0, pick);
  const connections = ctx.instances.map((id, i) => ({
    name: id,
    kind: "instance",
    style: seriesStyle(i),
    // Equal counts draw lines on top of each other: earlier series are wider, so each stays visible under the next.
    width: Math.max(1.5, 2 + 1.75 * (Math.min(ctx.instances.length, 4) - 1 - i)),
    points: series((s) => {
      const f = fleetOf(s);
      return f ? (num(obj(f.by_instance)[id]) ?? 0) : null;
    }),
  }));
  html += lineChart({ id: "connections", title: "Connections per instance (as the clients see them)", unit: "connections", series: connections, ...base });
  const live = series((s) => fleetOf(s)?.connected);
  const records = series((s) => obj(s.registry).records);
  const unreadable = samples.filter((s) => isObject(s.registry) && "error" in s.registry);
  html += lineChart({
    id: "registry",
    title: "Registry records vs live connections",
    unit: "count",
    note: registryNote(live, records),
    series: [
      { name: "live connections (clients)", kind: "live", style: { color: "#222222", dash: "" }, width: 3, points: live },
      { name: "records in Redis", kind: "records", style: seriesStyle(1), width: 2, points: records },
      { name: "session index members", kind: "index", style: { color: PALETTE[2], dash: DASHES[2] }, points: series((s) => obj(s.registry).session_index_members) },
      { name: "reverse index keys", kind: "index", style: { color: PALETTE[3], dash: DASHES[3] }, points: series((s) => obj(s.registry).reverse_keys) },
    ],
    area: { a: live, b: records, label: "records ≠ live connections (above the black line: ghosts; below: missing)" },
    markers: unreadable.map((s) => ({ x: sampleSeconds(s, t0) ?? 0, label: `registry unreadable: ${text(obj(s.registry).error, "error")}` })),
    markerLabel: "registry could not be read",
    ...base,
  });
  const rate = (key: string) => series((s) => obj(s.rates)[key]);
  html += lineChart({
    id: "rates",
    title: "Message rates",
    unit: "messages/s",
    series: [
      { name: "sent", style: seriesStyle(0), points: rate("sent") },
      { name: "acked", style: seriesStyle(2), points: rate("acked") },
      { name: "received", style: seriesStyle(3), points: rate("received") },
      { name: "errors", style: { color: "#c0392b", dash: "3 2" }, width: 3, points: rate("errors") },
    ],
    ...base,
  });
  const pct = (kind: string, p: string) => series((s) => obj(obj(fleetOf(s)?.latency)[kind])[p]);
  html += lineChart({
    id: "latency",
    title: "Latency percentiles",
    unit: "ms",
    note: "cumulative since the fleet started",
    series: [
      { name: "connect p50", style: { color: PALETTE[0], dash: "" }, points: pct("connect", "p50") },
      { name: "connect p99", style: { color: PALETTE[0], dash: "8 4" }, points: pct("connect", "p99") },
      { name: "route ack p50", style: { color: PALETTE[4], dash: "" }, points: pct("ack", "p50") },
      { name: "route ack p99", style: { color: PALETTE[4], dash: "8 4" }, points: pct("ack", "p99") },
    ],
    ...base,
  });
  html += lineChart({
    id: "redis-ping",
    title: "Redis PING round trip (direct, not through the proxy)",
    unit: "ms",
    series: [{ name: "PING", style: seriesStyle(5), points: series((s) => s.redis_ping_ms) }],
    markers: samples.filter((s) => s.redis_ping_ms === null).map((s) => ({ x: sampleSeconds(s, t0) ?? 0, label: "Redis did not answer PING" })),
    markerLabel: "no answer",
    ...base,
  });
  return html;
}
