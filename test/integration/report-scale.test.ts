import { stat } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { HtmlReporter } from "../../harness/report/html-reporter.js";
import { PAGE_EVENT_LIMIT } from "../../harness/report/page-data.js";
import { measureReportOpen } from "../../harness/report/report-open-time.js";
import { writeSyntheticRun } from "../helpers/synthetic-run.js";

/** Issue 13's bounds for the page of a 10-minute release run of 20,000 clients. */
const MAX_REPORT_BYTES = 50 * 1024 * 1024;
const MAX_OPEN_MS = 3_000;

/**
 * The open-time bound is for a machine with its cores to itself. Tests share 2 cores with up to 8 other jobs: the
 * bound is scaled by the run queue per core (1-minute load average / cores) when that is above 1, and the figure
 * measured is printed either way.
 */
function openBoundMs(): number {
  return MAX_OPEN_MS * Math.max(1, loadavg()[0]! / availableParallelism());
}
/** Size of the release run the bounds are stated for; 200 routes/s is half the restart release profile's rate over 30× its duration. */
const LONG_RUN = { clients: 20_000, durationS: 600, instances: 5, routesPerSecond: 200 };

describe("report of a long release run", { timeout: 300_000 }, () => {
  it("should stay under 50 MB and open in under 3 s, with the whole history in the charts and the event log", async () => {
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-scale-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const run = await writeSyntheticRun(dir, LONG_RUN);
    const [file] = await new HtmlReporter(dir).onRunEnd(run);
    const bytes = (await stat(file!)).size;
    const log = (await stat(join(dir, "events.ndjson"))).size;
    const opened = await measureReportOpen(file!);
    console.log(`report ${(bytes / 1048576).toFixed(1)} MB (events.ndjson ${(log / 1048576).toFixed(1)} MB, ${run.event_log!.events} events), opened in ${opened.openMs} ms (bound ${Math.round(openBoundMs())} ms at load ${loadavg()[0]!.toFixed(1)})`);
    expect(bytes).toBeLessThan(MAX_REPORT_BYTES);
    expect(opened.status, opened.messages).toBe("ok");
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.requests).toEqual([]);
    expect(opened.openMs).toBeLessThan(openBoundMs());
  });

  it("should say on the page how many events it holds and link the file with all of them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-scale-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const run = await writeSyntheticRun(dir, { ...LONG_RUN, clients: 12_000, durationS: 120 });
    const [file] = await new HtmlReporter(dir).onRunEnd(run);
    const { launchChromium } = await import("../../harness/report/screenshot-report.js");
    const session = await launchChromium();
    onTestFinished(() => session.close());
    const page = await session.browser.newPage();
    await page.goto(`file://${file!}`);
    await page.waitForSelector("#report-status[data-status=ok]", { state: "attached" });
    const note = await page.locator("#events-capped").textContent();
    expect(note).toContain(`holds ${PAGE_EVENT_LIMIT} of the run's ${run.event_log!.events} events`);
    expect(await page.locator("#event-log-link").getAttribute("href")).toBe("events.ndjson");
    // The scatter counts every route of the history, not only those in run.json or on the page.
    const routes = (run.checks[0]!.actual as { sent: number }).sent;
    expect(await page.locator('figure[data-chart="route-scatter"] figcaption').textContent()).toContain(`${routes.toLocaleString("en-US")} routes`);
  });
});
