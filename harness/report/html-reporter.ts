import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { REPORT_STYLE } from "./html-report-style.js";
import { pageAssets } from "./page-bundle.js";
import { recordAsWritten } from "./json-reporter.js";
import { pageRun } from "./page-data.js";
import type { Reporter } from "./reporter.js";
import type { RunResult } from "./run-result.js";

/**
 * Makes JSON text safe inside a `<script>` element: `<` (which could open `</script>` or `<!--`) and the line
 * separators U+2028/U+2029 become `\u` escapes. `<` occurs in JSON only inside strings, so the data is unchanged.
 */
export function embedJson(json: string): string {
  return json.replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * Renders one self-contained page from run.json's text: the data embedded as `application/json`, and an inline
 * script (the modules of `page/`, bundled once per process) that draws the report (verdict, checks, timeline,
 * charts, baseline, events, configuration) in the browser. Nothing is loaded from the network. `#report-status`
 * gets `data-status="ok"` once the page has rendered, or `"error"` with the messages of whatever failed.
 */
export async function renderHtml(runJson: string): Promise<string> {
  const { script, chartStyle } = await pageAssets();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>run report</title><style>${chartStyle}${REPORT_STYLE}</style></head>
<body><div id="app"><noscript>This report is drawn by its inline script; run.json next to this file holds the same data.</noscript></div>
<pre id="report-status" data-status="pending" hidden></pre>
<script type="application/json" id="run-data">${embedJson(runJson)}</script>
<script>${script}</script>
</body></html>
`;
}

/**
 * Writes `index.html` from the run's record as run.json holds it ({@link recordAsWritten}: not parsed back from the
 * file) and its event log (events and samples capped, charts from every event: page-data.ts). The page is byte for
 * byte the one run.json read back gives (html-reporter.test.ts).
 */
export class HtmlReporter implements Reporter {
  readonly name = "html";
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async onRunEnd(result: RunResult): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, "index.html");
    await writeFile(file, await renderPage(recordAsWritten(result), this.#dir));
    return [file];
  }
}

/** The page of a run: `run`'s record (as written to run.json) and the event log in `dir`. */
export async function renderPage(run: RunResult, dir: string): Promise<string> {
  return renderHtml(JSON.stringify(await pageRun(run, dir)));
}
