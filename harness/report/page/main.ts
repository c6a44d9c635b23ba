/// <reference lib="dom" />
/**
 * Entry of the report page's script (bundled into index.html by page-bundle.ts): reads the embedded run.json and
 * draws every section. A section that throws shows its error in place; `#report-status` then says "error" with the
 * messages, else "ok".
 */
import { renderBaseline } from "./baseline-section.js";
import type { ChartSpec } from "./chart-spec.js";
import { chartSpecs, renderChartsShell } from "./charts-section.js";
import { renderChecks } from "./checks-section.js";
import { renderConfig } from "./config-section.js";
import { renderEventsShell, wireEvents } from "./events-section.js";
import { renderHeader, wireCopy } from "./header-section.js";
import { instanceRows, renderInstanceTable } from "./instance-table.js";
import { pageContext } from "./page-context.js";
import { runEvents, runSamples, type PageRun } from "./run-model.js";
import { renderTimeline } from "./timeline-section.js";
import { mountCharts } from "./uplot-chart.js";
import { esc, isObject, text } from "./values.js";

/** Renders one section into HTML; a section that throws shows its error instead and adds it to `errors`. */
export function section(id: string, render: () => string, errors: string[]): string {
  try {
    const html = render();
    return html ? `<section id="${id}">${html}</section>` : "";
  } catch (error) {
    errors.push(`${id}: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
    return `<section id="${id}"><p class="run-error">This section could not be rendered: ${esc(String(error))}</p></section>`;
  }
}

/** The run embedded in `#run-data` (an empty run when it is missing or not an object). */
export function readRun(doc: Document, errors: string[]): PageRun {
  try {
    const data: unknown = JSON.parse(doc.getElementById("run-data")?.textContent ?? "null");
    return isObject(data) ? (data as PageRun) : {};
  } catch (error) {
    errors.push(`run data: ${String(error)}`);
    return {};
  }
}

function finish(doc: Document, errors: readonly string[]): void {
  const marker = doc.getElementById("report-status");
  if (!marker) return;
  marker.setAttribute("data-status", errors.length ? "error" : "ok");
  marker.textContent = errors.join("\n");
  if (errors.length) marker.hidden = false;
}

function renderInstances(run: PageRun, ctx: ReturnType<typeof pageContext>): string {
  const table = renderInstanceTable(instanceRows(ctx.instances, runEvents(run), runSamples(run), ctx.marks));
  return table ? `<h2>Instances</h2>${table}<p class="note">From the fleet's events and the samples: connections as the clients saw them, welcomes sent, welcomes to clients that had been welcomed before, sockets closed without the fleet asking, route errors of clients while on the instance; kills, crashes and restarts from the process events.</p>` : "";
}

/** Draws the whole page into `#app`. */
export function boot(doc: Document): void {
  const errors: string[] = [];
  doc.defaultView?.addEventListener("error", (event) => {
    errors.push(`script: ${event.message}`);
    finish(doc, errors);
  });
  const run = readRun(doc, errors);
  const ctx = pageContext(run);
  doc.title = `${text(run.scenario, "run")} ${text(run.status, "unknown")} (${text(run.run_id, "no run id")})`;
  const app = doc.getElementById("app");
  if (!app) return;
  let specs: ChartSpec[] = [];
  app.innerHTML =
    section("header", () => renderHeader(run), errors) +
    section("checks", () => renderChecks(run), errors) +
    section("timeline", () => renderTimeline(run, ctx), errors) +
    section("instances", () => renderInstances(run, ctx), errors) +
    section("charts", () => renderChartsShell(run, (specs = chartSpecs(run, ctx))), errors) +
    section("baseline", () => renderBaseline(run), errors) +
    section("events", () => renderEventsShell(run), errors) +
    section("config", () => renderConfig(run), errors);
  const wire = (name: string, fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      errors.push(`${name}: ${String(error)}`);
    }
  };
  wire("charts", () => void mountCharts(doc, specs));
  wire("events", () => wireEvents(doc, run, ctx.t0));
  wire("copy", () => wireCopy(doc));
  finish(doc, errors);
}

if (typeof document !== "undefined") boot(document);
