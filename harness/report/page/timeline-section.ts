/** The timeline: lanes for phases, faults and each instance, then the faults and process events as tables. */
import type { FaultInterval } from "./intervals.js";
import { stackRows } from "./intervals.js";
import type { PageContext } from "./page-context.js";
import { runPhases, type PageRun } from "./run-model.js";
import { CHART, glyphSvg, hatchDefs, markGlyph, xAxis, xScale } from "./svg.js";
import { clip, esc, fmtDuration, fmtOffset, num, text } from "./values.js";

const LANE_H = 30;
const TOP = 6;

/** A fault as one line of text: kind, targets, description. */
export function faultLabel(f: FaultInterval): string {
  return f.kind + (f.targets.length ? ` → ${f.targets.join(", ")}` : "") + (f.description ? ` (${f.description})` : "") + (f.open ? ", never ended" : "");
}

/** The timeline section's HTML. */
export function renderTimeline(run: PageRun, ctx: PageContext): string {
  let html = "<h2>Timeline</h2>";
  const phases = runPhases(run);
  if (phases.length === 0 && ctx.faults.length === 0 && ctx.marks.length === 0) return `${html}<p class="empty">No phases, faults or process events were recorded.</p>`;
  const lanes = ["phases", "faults", ...ctx.instances];
  const bottom = TOP + lanes.length * LANE_H;
  const sx = xScale(ctx.domain);
  const sec = (t: number): number => sx((t - ctx.t0) / 1_000);
  const at = (t: number): string => fmtOffset((t - ctx.t0) / 1_000);
  let svg = `<svg class="plot timeline" viewBox="0 0 ${CHART.width} ${bottom + 40}" role="img" aria-label="timeline of phases, faults and processes">${hatchDefs("hatch-timeline")}`;
  svg += xAxis(ctx.domain, sx, bottom);
  lanes.forEach((label, i) => {
    const y = TOP + i * LANE_H;
    svg += `<line class="lane" x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${y + LANE_H}" y2="${y + LANE_H}"/><text class="lane-label" x="${CHART.left - 6}" y="${y + LANE_H / 2 + 4}" text-anchor="end">${esc(label)}</text>`;
  });
  phases.forEach((p, i) => {
    const x = sec(p.start);
    const end = num(p.end) ?? ctx.t1;
    const w = Math.max(1, sec(end) - x);
    const name = text(p.name, "?");
    svg +=
      `<g class="phase" data-phase="${esc(name)}"><rect x="${x.toFixed(1)}" y="${TOP + 3}" width="${w.toFixed(1)}" height="${LANE_H - 6}" class="phase-band p${i % 2}"><title>${esc(`${name}: ${at(p.start)} to ${at(end)}`)}</title></rect>` +
      (w > 34 ? `<text class="band-label" x="${(x + 4).toFixed(1)}" y="${TOP + LANE_H / 2 + 4}">${esc(clip(name, Math.floor(w / 7)))}</text>` : "") +
      "</g>";
  });
  const rows = stackRows(ctx.faults);
  const rowH = (LANE_H - 6) / rows.count;
  ctx.faults.forEach((f, i) => {
    const x = sec(f.start);
    const w = Math.max(3, sec(f.end) - x);
    const y = TOP + LANE_H + 3 + rows.row[i]! * rowH;
    svg +=
      `<g class="fault" data-fault="${esc(f.id)}"><rect class="fault-bar${f.ok === false ? " bad" : ""}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${rowH.toFixed(1)}" fill="url(#hatch-timeline)"><title>${esc(`${faultLabel(f)}: ${at(f.start)} to ${at(f.end)}`)}</title></rect>` +
      (w > 40 ? `<text class="band-label" x="${(x + 4).toFixed(1)}" y="${(y + rowH / 2 + 4).toFixed(1)}">${esc(clip(`${f.kind} ${f.targets.join(",")}`, Math.floor(w / 7)))}</text>` : "") +
      "</g>";
  });
  for (const d of ctx.downs) {
    const lane = ctx.instances.indexOf(d.target);
    if (lane < 0) continue;
    const x = sec(d.start);
    svg += `<rect class="instance-${d.kind}" x="${x.toFixed(1)}" y="${TOP + (lane + 2) * LANE_H + 8}" width="${Math.max(1, sec(d.end) - x).toFixed(1)}" height="${LANE_H - 16}"><title>${esc(`${d.target} ${d.kind}: ${at(d.start)} to ${at(d.end)}`)}</title></rect>`;
  }
  for (const m of ctx.marks) {
    const lane = ctx.instances.indexOf(m.target);
    if (lane < 0 || m.kind === "starting" || m.kind === "other") continue;
    const y = TOP + (lane + 2) * LANE_H + LANE_H / 2;
    svg += `<g class="mark ${m.kind}" data-mark="${m.kind}" transform="translate(${sec(m.t).toFixed(1)} ${y})">${markGlyph(m.kind)}<title>${esc(`${m.target} ${m.label} at ${at(m.t)}`)}</title></g>`;
  }
  svg += "</svg>";
  const glyph = (kind: string, label: string): string => `<li><span class="glyph">${glyphSvg(kind)}</span>${label}</li>`;
  html +=
    `<figure class="chart" data-chart="timeline">${svg}<ul class="legend"><li><span class="swatch-fault"></span>fault interval</li>` +
    glyph("kill", "killed (SIGKILL)") +
    glyph("stop", "stop signal sent") +
    glyph("exit", "exited") +
    glyph("crash", "exited unexpectedly") +
    glyph("start", "started") +
    `<li><span class="swatch-down"></span>instance down</li><li><span class="swatch-draining"></span>draining</li></ul></figure>`;
  return html + renderFaultTable(ctx);
}

function renderFaultTable(ctx: PageContext): string {
  const at = (t: number): string => fmtOffset((t - ctx.t0) / 1_000);
  const faultRow = (f: FaultInterval): string =>
    `<tr class="fault-row"><td>${esc(at(f.start))}</td><td>${esc(f.open ? "never ended" : `${at(f.end)} (${fmtDuration(f.end - f.start)})`)}</td><td><b>${esc(f.kind)}</b></td>` +
    `<td>${esc(f.targets.join(", ") || "–")}</td><td>${esc(f.description)}${f.ok === false ? ` <span class="pill fail">failed</span>` : ""}${f.error ? ` ${esc(f.error)}` : ""}</td></tr>`;
  const head = "<thead><tr><th>start</th><th>end</th><th>kind</th><th>target</th><th>detail</th></tr></thead>";
  const html = ctx.faults.length ? `<table class="faults">${head}<tbody>${ctx.faults.map(faultRow).join("")}</tbody></table>` : `<p class="empty">No faults were injected.</p>`;
  const marks = ctx.marks.filter((m) => m.kind !== "starting" && m.kind !== "other");
  if (marks.length === 0) return html;
  return (
    `${html}<details class="table-details"><summary>${marks.length} process events (start, stop signal, exit, kill)</summary><table class="faults"><thead><tr><th>time</th><th>instance</th><th>event</th></tr></thead><tbody>` +
    marks.map((m) => `<tr class="process-row"><td>${esc(at(m.t))}</td><td>${esc(m.target)}</td><td><b>${esc(m.kind)}</b> ${esc(m.label)}</td></tr>`).join("") +
    "</tbody></table></details>"
  );
}
