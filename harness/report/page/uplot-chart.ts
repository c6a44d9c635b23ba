/// <reference lib="dom" />
/**
 * Draws the chart specs with uPlot into their figures: faults shaded with the timeline's hatch on every chart
 * (a drawClear hook, under the series), phase starts dotted, the registry gap filled, markers on the time axis.
 * Dragging across a chart zooms every chart to that stretch; a double-click shows the whole run again.
 */
import uPlot from "uplot";
import { hasData, type ChartSpec } from "./chart-spec.js";
import { fmtNumber, fmtOffset } from "./values.js";

const CHART_HEIGHT_PX = 240;
const SYNC_KEY = "run";

function hatch(ctx: CanvasRenderingContext2D): CanvasPattern | string {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const t = tile.getContext("2d");
  if (!t) return "rgba(246,215,167,.45)";
  t.fillStyle = "rgba(246,215,167,.45)";
  t.fillRect(0, 0, 8, 8);
  t.strokeStyle = "rgba(199,124,17,.5)";
  t.lineWidth = 2;
  t.beginPath();
  t.moveTo(-2, 10);
  t.lineTo(10, -2);
  t.stroke();
  return ctx.createPattern(tile, "repeat") ?? "rgba(246,215,167,.45)";
}

/** Faults, phase lines and the gap area, under the series. Records how many bands it drew on the figure. */
function drawUnder(u: uPlot, spec: ChartSpec, figure: HTMLElement): void {
  const { ctx, bbox } = u;
  const x = (v: number): number => u.valToPos(v, "x", true);
  const xMin = u.scales.x!.min ?? spec.domain[0];
  const xMax = u.scales.x!.max ?? spec.domain[1];
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  ctx.fillStyle = hatch(ctx);
  ctx.strokeStyle = "rgba(199,124,17,.8)";
  let drawn = 0;
  for (const f of spec.faults) {
    if (f.end < xMin || f.start > xMax) continue;
    const left = x(f.start);
    const width = Math.max(2, x(f.end) - left);
    ctx.fillRect(left, bbox.top, width, bbox.height);
    ctx.strokeRect(left, bbox.top, width, bbox.height);
    drawn++;
  }
  ctx.setLineDash([1, 3]);
  ctx.strokeStyle = "#7f8c9d";
  ctx.fillStyle = "#7f8c9d";
  ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
  // uPlot leaves the alignment of its last axis labels on the context.
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  spec.phases.forEach((p, i) => {
    if (p.start < xMin || p.start > xMax) return;
    ctx.beginPath();
    ctx.moveTo(x(p.start), bbox.top);
    ctx.lineTo(x(p.start), bbox.top + bbox.height);
    ctx.stroke();
    // A name only where it fits before the next phase starts.
    const room = (i + 1 < spec.phases.length ? x(spec.phases[i + 1]!.start) : bbox.left + bbox.width) - x(p.start);
    if (room > ctx.measureText(p.name).width + 6 * devicePixelRatio) ctx.fillText(p.name, x(p.start) + 3 * devicePixelRatio, bbox.top + 11 * devicePixelRatio);
  });
  ctx.setLineDash([]);
  if (spec.gap) {
    const a = u.data[spec.gap.a + 1]!;
    const b = u.data[spec.gap.b + 1]!;
    ctx.fillStyle = "rgba(179,38,30,.22)";
    for (let i = 0; i + 1 < u.data[0].length; i++) {
      const [a0, a1, b0, b1] = [a[i], a[i + 1], b[i], b[i + 1]];
      if (a0 == null || a1 == null || b0 == null || b1 == null) continue;
      const xi = x(u.data[0][i]!);
      const xj = x(u.data[0][i + 1]!);
      ctx.beginPath();
      ctx.moveTo(xi, u.valToPos(a0, "y", true));
      ctx.lineTo(xj, u.valToPos(a1, "y", true));
      ctx.lineTo(xj, u.valToPos(b1, "y", true));
      ctx.lineTo(xi, u.valToPos(b0, "y", true));
      ctx.closePath();
      ctx.fill();
    }
  }
  ctx.restore();
  figure.dataset.bands = String(drawn);
  figure.dataset.xMin = xMin.toFixed(3);
  figure.dataset.xMax = xMax.toFixed(3);
}

/** Red triangles on the time axis, over the series. */
function drawMarkers(u: uPlot, spec: ChartSpec): void {
  const { ctx, bbox } = u;
  const s = 5 * devicePixelRatio;
  ctx.save();
  ctx.fillStyle = "#b3261e";
  for (const m of spec.markers ?? []) {
    const px = u.valToPos(m.x, "x", true);
    if (px < bbox.left || px > bbox.left + bbox.width) continue;
    const y = bbox.top + bbox.height;
    ctx.beginPath();
    ctx.moveTo(px, y - 2 * s);
    ctx.lineTo(px - s, y);
    ctx.lineTo(px + s, y);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

/** Indexes of values with no value on either side: a line cannot show them, so they are drawn as points. */
function isolatedPoints(u: uPlot, seriesIdx: number): number[] {
  const values = u.data[seriesIdx]!;
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] != null && values[i - 1] == null && values[i + 1] == null) out.push(i);
  return out;
}

function options(spec: ChartSpec, figure: HTMLElement, width: number, all: () => uPlot[]): uPlot.Options {
  let syncing = false;
  return {
    width,
    height: CHART_HEIGHT_PX,
    cursor: {
      sync: { key: SYNC_KEY },
      drag: { x: true, y: false, setScale: true },
      bind: {
        // A double-click shows the whole run on every chart (uPlot's own reset would fit this chart's data only).
        dblclick: () => () => {
          for (const c of all()) c.setScale("x", { min: spec.domain[0], max: spec.domain[1] });
          return null;
        },
      },
    },
    scales: {
      x: { time: false, auto: false, range: (_u, min, max) => [min ?? spec.domain[0], max ?? spec.domain[1]] },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    axes: [
      { label: "seconds since the run started", labelSize: 20, values: (_u, splits) => splits.map((v) => fmtNumber(v, 1)) },
      { label: spec.unit, labelSize: 20, size: 56, values: (_u, splits) => splits.map((v) => fmtNumber(v)) },
    ],
    series: [
      { label: "time", value: (_u, v) => (v == null ? "–" : fmtOffset(v)) },
      ...spec.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          dash: s.dash ?? [],
          spanGaps: false,
          value: (_u, v) => (v == null ? "–" : `${fmtNumber(v)} ${spec.unit}`),
          ...(s.points
            ? { paths: () => null, points: { show: true, size: 4, stroke: s.color, fill: s.color, width: 0 } }
            : { points: { show: true, size: 6, stroke: s.color, fill: s.color, filter: isolatedPoints } }),
        }),
      ),
    ],
    hooks: {
      drawClear: [(u) => drawUnder(u, spec, figure)],
      draw: [(u) => drawMarkers(u, spec)],
      setScale: [
        (u, key) => {
          // Every chart follows a zoom; the flag stops the charts from echoing it back and forth.
          if (key !== "x" || syncing) return;
          syncing = true;
          const { min, max } = u.scales.x!;
          for (const c of all()) if (c !== u && min != null && max != null) c.setScale("x", { min, max });
          syncing = false;
        },
      ],
    },
  };
}

/** Draws every chart with data into its `figure[data-chart]`; returns the plots (kept alive by the page). */
export function mountCharts(doc: Document, specs: readonly ChartSpec[]): uPlot[] {
  const plots: uPlot[] = [];
  for (const spec of specs) {
    if (!hasData(spec)) continue;
    const figure = doc.querySelector<HTMLElement>(`figure[data-chart="${CSS.escape(spec.id)}"]`);
    const host = figure?.querySelector<HTMLElement>(".chart-canvas");
    if (!figure || !host) continue;
    const data: uPlot.AlignedData = [spec.x, ...spec.series.map((s) => s.values)];
    const plot = new uPlot(options(spec, figure, Math.max(320, host.clientWidth), () => plots), data, host);
    plot.setScale("x", { min: spec.domain[0], max: spec.domain[1] });
    plots.push(plot);
  }
  doc.defaultView?.addEventListener("resize", () => {
    for (const p of plots) p.setSize({ width: Math.max(320, (p.root.parentElement?.clientWidth ?? 320)), height: CHART_HEIGHT_PX });
  });
  return plots;
}
