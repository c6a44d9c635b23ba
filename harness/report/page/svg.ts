/** SVG pieces of the timeline and its legend: the time scale, round ticks, the fault hatch, glyphs; the palette. */
import { esc, fmtNumber } from "./values.js";

/** Geometry of an SVG plot in viewBox units. */
export const CHART = Object.freeze({ width: 1000, height: 240, left: 64, right: 18, top: 22, bottom: 38 });

/** Series colours of the charts (told apart by dash pattern as well). */
export const PALETTE = ["#1f63b5", "#c0392b", "#1e8449", "#7d3c98", "#d35400", "#138d90", "#7b5e3b", "#c2185b", "#555555", "#8a8a00"] as const;
/** Maps seconds in `domain` to x in the plot area. */
export function xScale(domain: readonly [number, number]): (x: number) => number {
  const w = CHART.width - CHART.left - CHART.right;
  const span = domain[1] - domain[0] || 1;
  return (x) => CHART.left + ((x - domain[0]) / span) * w;
}

/** A round step (1, 2 or 5 × 10^n) dividing `span` into about `count` parts. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  let step = 10 ** Math.floor(Math.log10(raw));
  const err = raw / step;
  if (err >= 7.5) step *= 10;
  else if (err >= 3.5) step *= 5;
  else if (err >= 1.5) step *= 2;
  return step;
}

/** Round tick values covering [min, max] (about `count` of them). */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) max = min + 1;
  const step = niceStep(max - min, count);
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step); i * step <= max + step * 1e-9; i++) ticks.push(parseFloat((i * step).toPrecision(12)));
  return ticks;
}

/** The diagonal hatch faults are drawn with, as an SVG pattern `id`. */
export function hatchDefs(id: string): string {
  return (
    `<defs><pattern id="${id}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
    `<rect width="8" height="8" fill="#f6d7a7" fill-opacity="0.45"/><line x1="0" y1="0" x2="0" y2="8" stroke="#c77c11" stroke-width="2" stroke-opacity="0.5"/></pattern></defs>`
  );
}

/** Grid lines and labels of the time axis at `y`. */
export function xAxis(domain: readonly [number, number], sx: (x: number) => number, y: number): string {
  return (
    niceTicks(domain[0], domain[1], 10)
      .map((t) => {
        const x = sx(t).toFixed(1);
        return `<line class="grid" x1="${x}" x2="${x}" y1="${CHART.top}" y2="${y}"/><text class="tick" x="${x}" y="${y + 14}" text-anchor="middle">${esc(fmtNumber(t, 1))}</text>`;
      })
      .join("") + `<text class="axis-title" x="${CHART.width - CHART.right}" y="${y + 30}" text-anchor="end">seconds since the run started</text>`
  );
}

/** Glyph of a process mark, centred on 0,0. */
export function markGlyph(kind: string): string {
  if (kind === "kill") return `<path d="M-6 -6L6 6M-6 6L6 -6" class="glyph-kill"/>`;
  if (kind === "stop") return `<rect x="-4" y="-4" width="8" height="8" class="glyph-stop"/>`;
  if (kind === "exit") return `<circle r="5" class="glyph-exit"/>`;
  if (kind === "crash") return `<path d="M0 -7L7 6H-7Z" class="glyph-crash"/>`;
  return `<path d="M-5 -6L6 0L-5 6Z" class="glyph-start"/>`;
}

/** A process mark's glyph as a small standalone SVG (legends). */
export function glyphSvg(kind: string): string {
  return `<svg width="16" height="16" viewBox="-8 -8 16 16" aria-hidden="true">${markGlyph(kind)}</svg>`;
}
