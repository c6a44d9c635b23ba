import { HtmlReporter } from "./html-reporter.js";
import { JsonReporter } from "./json-reporter.js";
import { JunitReporter } from "./junit-reporter.js";
import type { Reporter } from "./reporter.js";
import { RunsIndexReporter } from "./runs-index.js";

/**
 * File reporters by name, in the order they run: run.json first, the others render the record as it holds it; last
 * the runs index of the reports root (`<dir>/../index.html`), which lists the run just written.
 */
export const FILE_REPORTERS: Readonly<Record<"json" | "html" | "junit" | "runs-index", new (dir: string) => Reporter>> = Object.freeze({
  json: JsonReporter,
  html: HtmlReporter,
  junit: JunitReporter,
  "runs-index": RunsIndexReporter,
});

/** One instance of every file reporter for the run directory `dir`, in order. */
export function createFileReporters(dir: string): Reporter[] {
  return Object.values(FILE_REPORTERS).map((Reporter) => new Reporter(dir));
}
