/**
 * The charts: the per-second samples and the fleet's events per window, on the timeline's time axis, faults
 * shaded. This module says what each chart holds; uplot-chart.ts draws them once the section is in the page.
 */
import type { Sample } from "../run-result.js";
import { hasData, type Band, type ChartSeries, type ChartSpec } from "./chart-spec.js";
import type { PageContext } from "./page-context.js";
import { runEvents, runPhases, runSamples, sampleSeconds, type PageRun } from "./run-model.js";
import { registryNote, sampleSeries, slowCommandsTotal } from "./series.js";
import { PALETTE } from "./svg.js";
import { errorsByCode, routeScatter, windowedLatency, type LatencyKind } from "./time-series.js";
import { faultLabel } from "./timeline-section.js";
import { esc, fmtNumber, isObject, num, obj, text } from "./values.js";

const DASHES: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 3], [14, 4], [6, 2, 2, 2]];

function style(i: number): Pick<ChartSeries, "color" | "dash"> {
  return { color: PALETTE[i % PALETTE.length]!, dash: DASHES[i % DASHES.length]! };
}

function fleetOf(s: Sample): Sample["fleet"] {
  return isObject(s.fleet) ? s.fleet : null;
}

function latencySpec(base: Base, run: PageRun, events: ReturnType<typeof runEvents>, kind: LatencyKind, ctx: PageContext, title: string): ChartSpec {
  // A long run's page carries the series computed from its whole history (events.ndjson); else from the events here.
  const w = run.page?.series?.latency[kind] ?? windowedLatency(events, kind, ctx.t0, ctx.t1);
  const total = w.count.reduce((a, b) => a + b, 0);
  return {
    ...base,
    id: `latency-${kind}`,
    title,
    unit: "ms",
    note: `each second's own ${fmtNumber(total, 0)} values (not cumulative)`,
    x: w.x,
    series: [
      { label: "p50", values: w.p50, color: PALETTE[0], width: 2 },
      { label: "p95", values: w.p95, color: PALETTE[2], dash: [8, 4], width: 2 },
      { label: "p99", values: w.p99, color: PALETTE[1], dash: [3, 2], width: 2 },
      { label: "max", values: w.max, color: "#555555", dash: [1, 3], width: 1.5 },
    ],
  };
}

type Base = Pick<ChartSpec, "domain" | "faults" | "phases">;

/** Every chart of the run, in page order. */
export function chartSpecs(run: PageRun, ctx: PageContext): ChartSpec[] {
  const samples = runSamples(run);
  const events = runEvents(run);
  const t0 = ctx.t0;
  const faults: Band[] = ctx.faults.map((f) => ({ id: f.id, label: faultLabel(f), start: (f.start - t0) / 1_000, end: (f.end - t0) / 1_000 }));
  const phases = runPhases(run).map((p) => ({ name: text(p.name, "?"), start: (p.start - t0) / 1_000 }));
  const base: Base = { domain: ctx.domain, faults, phases };
  const sx = samples.map((s) => sampleSeconds(s, t0));
  const timed = samples.filter((_, i) => sx[i] !== null);
  const x = sx.filter((v): v is number => v !== null);
  const values = (pick: (s: Sample) => unknown): (number | null)[] => sampleSeries(timed, t0, pick).map((p) => p.y);
  const specs: ChartSpec[] = [];
  specs.push({
    ...base,
    id: "connections",
    title: "Connections per instance (as the clients see them)",
    unit: "connections",
    x,
    series: ctx.instances.map((id, i) => ({
      label: id,
      ...style(i),
      // Equal counts draw lines on top of each other: earlier series are wider, so each stays visible under the next.
      width: Math.max(1.5, 2 + 1.75 * (Math.min(ctx.instances.length, 4) - 1 - i)),
      values: values((s) => {
        const f = fleetOf(s);
        return f ? (num(obj(f.by_instance)[id]) ?? 0) : null;
      }),
    })),
  });
  const live = sampleSeries(timed, t0, (s) => fleetOf(s)?.connected);
  const records = sampleSeries(timed, t0, (s) => obj(s.registry).records);
  specs.push({
    ...base,
    id: "registry",
    title: "Registry records vs live connections",
    unit: "count",
    note: registryNote(live, records),
    x,
    series: [
      { label: "live connections (clients)", values: live.map((p) => p.y), color: "#222222", width: 3 },
      { label: "records in Redis", values: records.map((p) => p.y), ...style(1) },
      { label: "session index members", values: values((s) => obj(s.registry).session_index_members), ...style(2) },
      { label: "reverse index keys", values: values((s) => obj(s.registry).reverse_keys), ...style(3) },
    ],
    gap: { a: 0, b: 1, label: "records ≠ live connections (above the black line: ghosts; below: missing)" },
    markers: timed.filter((s) => isObject(s.registry) && "error" in s.registry).map((s) => ({ x: sampleSeconds(s, t0)!, label: `registry unreadable: ${text(obj(s.registry).error, "error")}` })),
    markerLabel: "registry could not be read",
  });
  const rate = (key: string) => values((s) => obj(s.rates)[key]);
  specs.push({
    ...base,
    id: "rates",
    title: "Message rates",
    unit: "messages/s",
    x,
    series: [
      { label: "sent", values: rate("sent"), ...style(0) },
      { label: "acked", values: rate("acked"), ...style(2) },
      { label: "received", values: rate("received"), ...style(3) },
      { label: "errors", values: rate("errors"), color: "#c0392b", dash: [3, 2], width: 3 },
    ],
  });
  specs.push(latencySpec(base, run, events, "ack", ctx, "Route ack latency per second"));
  const scatter = run.page?.series?.scatter ?? routeScatter(events, t0);
  specs.push({
    ...base,
    id: "route-scatter",
    title: "Route ack latency of individual routes",
    unit: "ms",
    note: scatter.total > scatter.x.length ? `${fmtNumber(scatter.x.length, 0)} of ${fmtNumber(scatter.total, 0)} routes: a regular sample plus every one above the run's p99` : `all ${fmtNumber(scatter.total, 0)} routes`,
    x: scatter.x,
    series: [{ label: "route ack", values: scatter.y, color: PALETTE[0], points: true }],
  });
  specs.push(latencySpec(base, run, events, "delivery", ctx, "Delivery latency per second (sent → received)"));
  specs.push(latencySpec(base, run, events, "connect", ctx, "Connect latency per second (attempt → welcome)"));
  const errors = run.page?.series?.errors ?? errorsByCode(events, t0, ctx.t1);
  specs.push({
    ...base,
    id: "errors",
    title: "Errors by code",
    unit: "errors/s",
    x: errors.x,
    series: errors.codes.map((code, i) => ({ label: code, values: errors.counts[i]!, ...style(i + 1) })),
  });
  specs.push({
    ...base,
    id: "redis-ping",
    title: "Redis PING round trip (direct, not through the proxy)",
    unit: "ms",
    x,
    series: [{ label: "PING", values: values((s) => s.redis_ping_ms), ...style(5) }],
    markers: timed.filter((s) => s.redis_ping_ms === null).map((s) => ({ x: sampleSeconds(s, t0)!, label: "Redis did not answer PING" })),
    markerLabel: "no answer",
  });
  specs.push({
    ...base,
    id: "redis-slow",
    title: "Redis commands of the SUT that ran 20 ms or more (its SLOWLOG): the longest since the previous sample",
    unit: "ms",
    note: slowCommandsNote(timed),
    x,
    series: [{ label: "longest", values: values((s) => obj(s.redis_slow).max_ms), ...style(0) }],
  });
  return specs;
}

/**
 * How many slow commands the page's samples counted, and the commands most of them were. The page keeps every sample
 * of a run up to an hour long (3,600), a regular stride of a longer one: then it is a count over the stride.
 */
function slowCommandsNote(samples: readonly Sample[]): string {
  const { count, by_command: byCommand } = slowCommandsTotal(samples);
  if (count === 0) return "none counted";
  const top = Object.entries(byCommand).sort((a, b) => b[1] - a[1]).slice(0, 5);
  return `${fmtNumber(count, 0)} counted: ${top.map(([command, n]) => `${command} ${fmtNumber(n, 0)}`).join(", ")}`;
}

/** The section's HTML: a figure per chart, drawn into by `mountCharts`; charts without data say so. */
export function renderChartsShell(run: PageRun, specs: readonly ChartSpec[]): string {
  let html = `<h2>Charts</h2><p class="note">Drag across a chart to zoom in on a stretch (every chart follows); double-click to see the whole run again. Hover for values.</p>`;
  if (runSamples(run).length === 0) html += `<p class="empty" id="no-samples">No samples were recorded (the run ended before the first one).</p>`;
  for (const spec of specs) {
    html += `<figure class="chart" data-chart="${esc(spec.id)}"><figcaption><b>${esc(spec.title)}</b> <span class="unit">(${esc(spec.unit)})</span>${spec.note ? `<span class="note">${esc(spec.note)}</span>` : ""}</figcaption>`;
    html += hasData(spec) ? `<div class="chart-canvas"></div>${chartLegendExtras(spec)}` : `<p class="empty">No data recorded for this chart.</p>`;
    html += "</figure>";
  }
  return html;
}

function chartLegendExtras(spec: ChartSpec): string {
  const items: string[] = [];
  if (spec.faults.length) items.push(`<li><span class="swatch-fault"></span>fault in effect</li>`);
  if (spec.gap) items.push(`<li><span class="swatch-gap"></span>${esc(spec.gap.label)}</li>`);
  if (spec.markers?.length) items.push(`<li><span class="swatch-bad">▲</span>${esc(spec.markerLabel ?? "no answer")}</li>`);
  return items.length ? `<ul class="legend">${items.join("")}</ul>` : "";
}
