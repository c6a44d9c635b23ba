/** What one time-series chart draws, independent of the library that draws it. */

/** A time band (a fault) in seconds since the run started. */
export interface Band {
  id: string;
  label: string;
  start: number;
  end: number;
}

/** One series: a value per x (null leaves a gap). */
export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** Canvas dash pattern; solid when missing. */
  dash?: number[];
  width?: number;
  /** Points only, no line (a scatter). */
  points?: boolean;
}

/** One chart. x is in seconds since the run started, on the same axis as the timeline. */
export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  note?: string;
  domain: [number, number];
  x: number[];
  series: ChartSeries[];
  faults: Band[];
  phases: { name: string; start: number }[];
  /** Shades the area between two series (indexes into `series`), e.g. registry records against live clients. */
  gap?: { a: number; b: number; label: string };
  /** Red triangles on the time axis (samples where something could not be read). */
  markers?: { x: number; label: string }[];
  markerLabel?: string;
}

/** Whether any series of the chart has a value to draw. */
export function hasData(spec: ChartSpec): boolean {
  return spec.series.some((s) => s.values.some((v) => v !== null));
}
