/**
 * How long a report page takes to open in headless Chromium: from the start of navigation to the page's own
 * "drawn" marker (`#report-status` no longer pending, two frames painted). The bound of docs/design.md "Report
 * files" (a 10-minute release run of 20,000 clients opens in under 3 s) is measured with it.
 */
import { pathToFileURL } from "node:url";
import { launchChromium, REPORT_DRAWN, SCREENSHOT_VIEWPORT, type LaunchChromiumOptions } from "./screenshot-report.js";

const OPEN_TIMEOUT_MS = 60_000;

/** What opening a report measured. */
export interface ReportOpening {
  /** Navigation start to drawn, in ms (the browser's start is not counted). */
  openMs: number;
  /** The page's status marker: `ok`, or `error` with `messages`. */
  status: string;
  messages: string;
  /** Errors the page logged or threw. */
  consoleErrors: string[];
  /** Requests the page made besides its own file. */
  requests: string[];
}

/** Opens `htmlFile` in a fresh headless Chromium (closed afterwards) and times it until drawn. */
export async function measureReportOpen(htmlFile: string, options: LaunchChromiumOptions = {}): Promise<ReportOpening> {
  const session = await launchChromium(options);
  try {
    const page = await session.browser.newPage({ viewport: { ...SCREENSHOT_VIEWPORT } });
    const url = pathToFileURL(htmlFile).href;
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(m.text())));
    page.on("pageerror", (e) => void consoleErrors.push(String(e)));
    page.on("request", (r) => void (r.url() !== url && requests.push(r.url())));
    const started = performance.now();
    await page.goto(url, { waitUntil: "load", timeout: OPEN_TIMEOUT_MS });
    await page.evaluate(REPORT_DRAWN);
    const openMs = performance.now() - started;
    const marker = await page.locator("#report-status").evaluate((el) => ({ status: (el as HTMLElement).dataset.status ?? "missing", messages: el.textContent ?? "" }));
    return { openMs: Math.round(openMs), ...marker, consoleErrors, requests };
  } finally {
    await session.close();
  }
}
