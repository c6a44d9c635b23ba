/** A line chart over the run's time axis as inline SVG: faults hatched, phase starts dotted, hover titles. */
import type { Point } from "./series.js";
import { CHART, hatchDefs, niceStep, niceTicks, xAxis, xScale, type SeriesStyle } from "./svg.js";
import { clip, esc, fmtNumber, fmtOffset } from "./values.js";

/** Points drawn with hover titles at most; longer runs skip them to keep the page light. */
const HOVER_POINT_LIMIT = 4_000;

/** A series of a line chart. */
export interface LineSeries {
  name: string;
  points: Point[];
  style: SeriesStyle;
  width?: number;
  kind?: string;
}

/** A time band (a fault) in seconds since the run started. */
export interface Band {
  id: string;
  label: string;
  start: number;
  end: number;
}

/** What a line chart draws. */
export interface LineChartSpec {
  id: string;
  title: string;
  unit: string;
  note?: string;
  domain: [number, number];
  faults: Band[];
  phases: { name: string; start: number }[];
  series: LineSeries[];
  /** A shaded gap between two series sampled at the same x. */
  area?: { a: Point[]; b: Point[]; label: string };
  /** Red ticks on the time axis. */
  markers?: { x: number; label: string }[];
  markerLabel?: string;
}

/** A y scale from 0 to a round value at or above max, with its ticks. */
export function niceScale(max: number | null, count: number): { max: number; ticks: number[] } {
  let top = max !== null && max > 0 ? max : 1;
  const step = niceStep(top, count);
  top = parseFloat((Math.ceil(top / step - 1e-9) * step).toPrecision(12));
  return { max: top, ticks: niceTicks(0, top, count) };
}

/** An SVG path through the points, lifting the pen at gaps. */
export function linePath(points: readonly Point[], sx: (x: number) => number, sy: (y: number) => number): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (p.y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** Closed shapes between two series sampled at the same x, over each stretch where both have values. */
export function areaBetween(a: readonly Point[], b: readonly Point[], sx: (x: number) => number, sy: (y: number) => number): string {
  let d = "";
  let run: { x: number; a: number; b: number }[] = [];
  const flush = (): void => {
    if (run.length > 1) {
      d += `M${run.map((p) => `${sx(p.x).toFixed(1)} ${sy(p.a).toFixed(1)}`).join("L")}`;
      d += `L${[...run].reverse().map((p) => `${sx(p.x).toFixed(1)} ${sy(p.b).toFixed(1)}`).join("L")}Z`;
    }
    run = [];
  };
  for (let i = 0; i < a.length && i < b.length; i++) {
    const ya = a[i]!.y;
    const yb = b[i]!.y;
    if (ya === null || yb === null) flush();
    else run.push({ x: a[i]!.x, a: ya, b: yb });
  }
  flush();
  return d;
}

function legendSwatch(style: SeriesStyle, width = 2.5): string {
  return `<svg class="swatch" width="34" height="12" aria-hidden="true"><line x1="1" y1="6" x2="33" y2="6" stroke="${style.color}" stroke-width="${width}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ""}/></svg>`;
}

/** The chart as a `<figure data-chart=id>`. */
export function lineChart(spec: LineChartSpec): string {
  const series = spec.series.filter((s) => s.points.some((p) => p.y !== null));
  const head = `<figure class="chart" data-chart="${esc(spec.id)}"><figcaption><b>${esc(spec.title)}</b> <span class="unit">(${esc(spec.unit)})</span>${spec.note ? `<span class="note">${esc(spec.note)}</span>` : ""}</figcaption>`;
  if (series.length === 0) return `${head}<p class="empty">No data recorded for this chart.</p></figure>`;
  let maxY = 0;
  for (const s of series) for (const p of s.points) if (p.y !== null && p.y > maxY) maxY = p.y;
  const scale = niceScale(maxY, 4);
  const sx = xScale(spec.domain);
  const bottom = CHART.height - CHART.bottom;
  const plotH = bottom - CHART.top;
  const sy = (v: number): number => bottom - (v / scale.max) * plotH;
  const pattern = `hatch-${spec.id}`;
  let svg = `<svg class="plot" viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="${esc(spec.title)}">${hatchDefs(pattern)}`;
  for (const f of spec.faults) {
    const x = sx(f.start);
    svg += `<rect class="fault-band" data-fault="${esc(f.id)}" x="${x.toFixed(1)}" y="${CHART.top}" width="${Math.max(2, sx(f.end) - x).toFixed(1)}" height="${plotH}" fill="url(#${pattern})"><title>${esc(f.label)}</title></rect>`;
  }
  for (const t of scale.ticks) {
    const y = sy(t).toFixed(1);
    svg += `<line class="grid" x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${y}" y2="${y}"/><text class="tick" x="${CHART.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmtNumber(t))}</text>`;
  }
  spec.phases.forEach((p, i) => {
    const x = sx(p.start);
    const next = i + 1 < spec.phases.length ? sx(spec.phases[i + 1]!.start) : CHART.width - CHART.right;
    svg += `<line class="phase-line" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${CHART.top - 16}" y2="${bottom}"><title>phase ${esc(p.name)}</title></line>`;
    if (next - x > 44) svg += `<text class="phase-name" x="${(x + 3).toFixed(1)}" y="${CHART.top - 6}">${esc(clip(p.name, Math.floor((next - x) / 6)))}</text>`;
  });
  svg += xAxis(spec.domain, sx, bottom);
  svg += `<text class="axis-title" transform="translate(14 ${CHART.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.unit)}</text>`;
  svg += `<line class="axis" x1="${CHART.left}" x2="${CHART.left}" y1="${CHART.top}" y2="${bottom}"/><line class="axis" x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${bottom}" y2="${bottom}"/>`;
  if (spec.area) svg += `<path class="gap-area" d="${areaBetween(spec.area.a, spec.area.b, sx, sy)}"><title>${esc(spec.area.label)}</title></path>`;
  for (const s of series) {
    svg += `<path class="series" data-series="${esc(s.name)}" data-kind="${esc(s.kind ?? "")}" d="${linePath(s.points, sx, sy)}" fill="none" stroke="${s.style.color}" stroke-width="${s.width ?? 2}"${s.style.dash ? ` stroke-dasharray="${s.style.dash}"` : ""}><title>${esc(s.name)}</title></path>`;
  }
  for (const m of spec.markers ?? []) svg += `<path class="marker-bad" d="M${sx(m.x).toFixed(1)} ${bottom - 8}l-4 8h8z"><title>${esc(m.label)}</title></path>`;
  if (series.reduce((n, s) => n + s.points.length, 0) <= HOVER_POINT_LIMIT) {
    for (const s of series) {
      for (const p of s.points) {
        if (p.y === null) continue;
        svg += `<circle class="hover" cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4"><title>${esc(`${s.name} at ${fmtOffset(p.x)}: ${fmtNumber(p.y)} ${spec.unit}`)}</title></circle>`;
      }
    }
  }
  svg += "</svg>";
  const legend = series.map((s) => `<li>${legendSwatch(s.style, s.width)}${esc(s.name)}</li>`);
  if (spec.faults.length) legend.push(`<li><span class="swatch-fault"></span>fault in effect</li>`);
  if (spec.area) legend.push(`<li><span class="swatch-gap"></span>${esc(spec.area.label)}</li>`);
  if (spec.markers?.length) legend.push(`<li><span class="swatch-bad">▲</span>${esc(spec.markerLabel ?? "no answer")}</li>`);
  return `${head}${svg}<ul class="legend">${legend.join("")}</ul></figure>`;
}
