import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { renderHtml } from "../../harness/report/html-reporter.js";
import type { RunResult } from "../../harness/report/run-result.js";
import { launchChromium, REPORT_DRAWN, SCREENSHOT_VIEWPORT, screenshotReport, type ChromiumSession } from "../../harness/report/screenshot-report.js";
import { runScenario } from "../../harness/scenario/engine.js";
import restart from "../../scenarios/restart.js";
import { expectNoLeftovers } from "../helpers/scenario-run.js";

const SEED = 4_242;
const CLIENTS = 60;
/**
 * The run's main hold, in seconds: the profile's 3 s would only lengthen the run. The page needs two faults, the
 * kill and start marks, and more fleet events than the events table draws (asserted below), which the ramp, the
 * resumes after the kill and the drain, and the messages of about 10 s give.
 */
const DURATION_S = 1;
/** Rows the events table draws at most (EVENT_ROW_LIMIT of the page). */
const EVENT_ROW_LIMIT = 500;
const PAGE_TIMEOUT_MS = 60_000;
const HOSTILE = `<img src=x onerror="document.body.setAttribute('data-pwned','1')">`;
const HOSTILE_CLOSE = `</script><script>document.body.setAttribute('data-pwned','2')</script><!--`;
/** Environment variable carrying a launch's own tag: Chromium's crash handlers leave its process group but keep it. */
const LAUNCH_TAG_ENV = "TRAFFIC_COP_TEST_CHROMIUM";
const STOP_TIMEOUT_MS = 5_000;

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** One Chromium launch: its process group id and its tag. */
interface Launch {
  pid: number;
  tag: string;
}
const launches: Launch[] = [];

/**
 * Live processes of a launch (Linux /proc): every member of its process group (main process, zygotes, renderers,
 * GPU and utility processes, whose environment Chromium clears) and every process carrying its tag (the crash
 * handlers, which start sessions of their own). Zombies are left out: they run nothing and init reaps them.
 */
function launchProcesses(launch: Launch): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" || state === "X") continue;
      if (Number(pgrp) === launch.pid) found.push(Number(entry));
      else if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`${LAUNCH_TAG_ENV}=${launch.tag}`)) found.push(Number(entry));
    } catch {
      // Ended while we looked, or another user's process.
    }
  }
  return found.sort((a, b) => a - b);
}

/**
 * Waits until no process of the launch is left (the crash handlers exit by themselves once the browser is gone);
 * returns those still alive after {@link STOP_TIMEOUT_MS}, and SIGKILLs them then, so that a failing test leaves none.
 */
async function awaitGone(launch: Launch): Promise<number[]> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    const left = launchProcesses(launch);
    if (left.length === 0) return [];
    if (Date.now() > deadline) {
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      return left;
    }
    await delay(20);
  }
}

/** What a page did besides rendering: console errors, uncaught errors, and every request it made. */
interface Opened {
  page: Page;
  consoleErrors: string[];
  requests: string[];
}

/**
 * Opens a report in headless Chromium (playwright-core) and waits until it has drawn, in a fresh browser context
 * (closed when the test ends) of the browser the file's tests share, or with `ownLaunch` of a Chromium launched for
 * the test alone. A launch costs about 3.4 s of CPU on the 2-core machine, a page in a context of its own none of
 * that, and contexts share no state (storage, permissions, pages).
 */
async function openReport(htmlFile: string, { timeoutMs = PAGE_TIMEOUT_MS, ownLaunch = false } = {}): Promise<Opened> {
  const { session } = ownLaunch ? await launchForTest(htmlFile) : await sharedLaunch();
  const context = await session.browser.newContext({ viewport: { ...SCREENSHOT_VIEWPORT } });
  onTestFinished(() => context.close().catch(() => undefined));
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  const opened: Opened = { page, consoleErrors: [], requests: [] };
  const url = pathToFileURL(htmlFile).href;
  page.on("console", (m) => void (m.type() === "error" && opened.consoleErrors.push(m.text())));
  page.on("pageerror", (e) => void opened.consoleErrors.push(String(e)));
  page.on("request", (r) => void (r.url() !== url && opened.requests.push(r.url())));
  await page.goto(url, { waitUntil: "load", timeout: timeoutMs });
  await page.evaluate(REPORT_DRAWN);
  return opened;
}

/** Launches Chromium with a tag of its own, recorded in `launches`. */
async function launchTagged(): Promise<{ session: ChromiumSession; launch: Launch }> {
  const tag = `${process.pid}-${launches.length}-${Date.now()}`;
  const session = await launchChromium({ env: { [LAUNCH_TAG_ENV]: tag } });
  const launch = { pid: session.pid, tag };
  launches.push(launch);
  return { session, launch };
}

/** Launches Chromium for the running test; closed, and checked gone, when the test ends. */
async function launchForTest(htmlFile: string): Promise<{ session: ChromiumSession; launch: Launch }> {
  const launched = await launchTagged();
  onTestFinished(async () => {
    await launched.session.close();
    expect(await awaitGone(launched.launch), `Chromium processes left by ${htmlFile}`).toEqual([]);
  });
  return launched;
}

let shared: Promise<{ session: ChromiumSession; launch: Launch }> | undefined;

/** The browser the file's tests share: launched on first use; closed, and checked gone, after the file's last test. */
function sharedLaunch(): Promise<{ session: ChromiumSession; launch: Launch }> {
  return (shared ??= launchTagged());
}

afterAll(async () => {
  if (shared === undefined) return;
  const { session, launch } = await shared;
  await session.close();
  expect(await awaitGone(launch), "Chromium processes left by the shared browser").toEqual([]);
});

async function writeReport(run: unknown, dir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.html`);
  await writeFile(file, await renderHtml(JSON.stringify(run)));
  return file;
}

/** The page's own marker: `ok` once every section rendered without an error. */
async function reportStatus(page: Page): Promise<{ status: string; messages: string }> {
  return page.locator("#report-status").evaluate((el) => ({ status: (el as HTMLElement).dataset.status ?? "missing", messages: el.textContent ?? "" }));
}

/** A field of a run's event by name (the test reads whichever variant it gets). */
function field(e: RunResult["events"][number], key: string): unknown {
  return (e as unknown as Record<string, unknown>)[key];
}

async function chartRange(page: Page, chart: string): Promise<[number, number]> {
  const figure = page.locator(`figure[data-chart="${chart}"]`);
  return [Number(await figure.getAttribute("data-x-min")), Number(await figure.getAttribute("data-x-max"))];
}

describe("HTML report in a real browser", { timeout: 180_000 }, () => {
  it("should render a fresh failing run and answer clicks, typing, the copy button and a zoom", async () => {
    const out = await tempDir("traffic-cop-html-");
    const { result, reportDir } = await runScenario({ scenario: restart, seed: SEED, clients: CLIENTS, durationS: DURATION_S, registry: "memory", outDir: out });
    await expectNoLeftovers(result);
    expect(result.status).toBe("failed");
    const run = JSON.parse(await readFile(join(reportDir, "run.json"), "utf8")) as RunResult;
    const { page, consoleErrors, requests } = await openReport(join(reportDir, "index.html"));
    expect(await reportStatus(page)).toEqual({ status: "ok", messages: "" });

    // Verdict header with the command that reruns the same seed.
    await expect.poll(() => page.locator("#verdict").getAttribute("data-status")).toBe("failed");
    expect(await page.locator("#verdict .badge").textContent()).toBe("FAILED");
    const command = `npm run scenario -- restart --seed ${SEED} --profile ci --runtime local --registry memory --clients ${CLIENTS} --duration ${DURATION_S}`;
    expect(await page.locator("#repro-command").textContent()).toBe(command);

    // One row per check, failed ones first, each with its verdict; failed evidence open.
    const rows = await page.locator("tr.check").evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.check, (tr as HTMLElement).dataset.pass]));
    const failedFirst = [...run.checks.filter((c) => !c.pass), ...run.checks.filter((c) => c.pass)];
    expect(rows).toEqual(failedFirst.map((c) => [c.name, String(c.pass)]));
    expect(rows.some(([, pass]) => pass === "false")).toBe(true);
    expect(await page.locator("details.evidence[open]").count()).toBe(run.checks.filter((c) => !c.pass).length);

    // Timeline: each fault a bar, kill and start marks; every chart shades every fault.
    const faults = run.events.filter((e) => e.source === "fault" && e.type === "fault_start").map((e) => String(field(e, "fault_id")));
    expect(faults.length).toBeGreaterThanOrEqual(2);
    expect(await page.locator(`figure[data-chart="timeline"] g.fault`).evaluateAll((gs) => gs.map((g) => g.getAttribute("data-fault")))).toEqual(faults);
    expect(await page.locator(`figure[data-chart="timeline"] [data-mark="kill"]`).count()).toBeGreaterThan(0);
    expect(await page.locator(`figure[data-chart="timeline"] [data-mark="start"]`).count()).toBeGreaterThan(0);
    const charts = ["connections", "registry", "rates", "latency-ack", "route-scatter", "latency-delivery", "redis-ping", "redis-slow"];
    for (const chart of charts) {
      expect(await page.locator(`figure[data-chart="${chart}"] canvas`).count(), chart).toBe(1);
      expect(await page.locator(`figure[data-chart="${chart}"]`).getAttribute("data-bands"), chart).toBe(String(faults.length));
    }
    // Connections: one series per instance, named in the legend.
    const instances = (run.topology.instances as { id: string }[]).map((i) => i.id).sort();
    expect(await page.locator(`figure[data-chart="connections"] .u-legend .u-label`).allTextContents()).toEqual(["time", ...instances]);
    // The per-instance table: a row per instance, the killed one with its kill and restart.
    expect(await page.locator("#instance-table tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.instance))).toEqual(instances);
    // The topology table links what each instance printed, beside the page.
    expect((await page.locator("details.config table a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))).sort()).toEqual(instances.map((id) => `instances/${id}.log`));

    // Zoom: a drag across the connections chart narrows every chart to that stretch; a double-click shows all again.
    const whole = await chartRange(page, "connections");
    const over = page.locator(`figure[data-chart="connections"] .u-over`);
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => chartRange(page, "connections")).not.toEqual(whole);
    const zoomed = await chartRange(page, "connections");
    expect(zoomed[0]).toBeGreaterThan(whole[0] + (whole[1] - whole[0]) * 0.2);
    expect(zoomed[1]).toBeLessThan(whole[0] + (whole[1] - whole[0]) * 0.55);
    await expect.poll(() => chartRange(page, "rates")).toEqual(zoomed);
    await over.dblclick();
    await expect.poll(() => chartRange(page, "connections")).toEqual(whole);
    await expect.poll(() => chartRange(page, "rates")).toEqual(whole);

    // Hovering a chart shows each series' value at that time in its legend.
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    await expect.poll(() => page.locator(`figure[data-chart="connections"] .u-legend .u-value`).allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\+\d+\.\d+ s$/), expect.stringMatching(/^[\d,]+ connections$/)]),
    );

    // The events log opens on everything but the per-client fleet events, capped, with the count.
    const quiet = run.events.filter((e) => e.source !== "fleet").length;
    const fleet = run.events.length - quiet;
    expect(fleet).toBeGreaterThan(EVENT_ROW_LIMIT);
    expect(await page.locator("#event-source").inputValue()).toBe("!fleet");
    expect(await page.locator("#event-rows tr").count()).toBe(Math.min(EVENT_ROW_LIMIT, quiet));
    // Source "fleet": capped at the limit, the count line says how many matched.
    await page.locator("#event-source").selectOption("fleet");
    expect(await page.locator("#event-rows tr").count()).toBe(EVENT_ROW_LIMIT);
    expect(await page.locator("#event-count").textContent()).toBe(`Showing the first ${EVENT_ROW_LIMIT} of ${fleet} matching events (${run.events.length} in all); narrow the filter to see others.`);
    // Type "welcome": the type list holds the fleet's types only, and every row is a welcome.
    const welcomes = run.events.filter((e) => e.source === "fleet" && e.type === "welcome");
    expect(await page.locator("#event-type option").allTextContents()).toContain(`welcome (${welcomes.length})`);
    expect(await page.locator("#event-type option").allTextContents()).not.toContain(expect.stringMatching(/^fault_start/));
    await page.locator("#event-type").selectOption("welcome");
    expect(new Set(await page.locator("#event-rows tr td:nth-child(3)").allTextContents())).toEqual(new Set(["welcome"]));
    // Text: one client's welcomes.
    const client = String(field(welcomes[0]!, "client"));
    const mine = welcomes.filter((e) => field(e, "client") === client).length;
    await page.locator("#event-text").fill(`"client":"${client}"`);
    await expect.poll(() => page.locator("#event-rows tr").count()).toBe(mine);
    expect(await page.locator("#event-count").textContent()).toBe(`${mine} matching event${mine === 1 ? "" : "s"} (${run.events.length} in all).`);

    // The copy button puts the exact command on the clipboard.
    await page.locator("#copy-repro").click();
    await expect.poll(() => page.locator("#copy-repro").textContent()).toBe("copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);

    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it("should show hostile strings from the run as text and never run them", async () => {
    const dir = await tempDir("traffic-cop-html-hostile-");
    const t = Date.parse("2026-01-01T00:00:00.000Z");
    const run = {
      scenario: HOSTILE,
      status: "failed",
      started_at: "2026-01-01T00:00:00.000Z",
      duration_ms: 5_000,
      topology: { instances: [{ id: HOSTILE }] },
      checks: [{ name: HOSTILE, pass: false, expected: HOSTILE_CLOSE, actual: { [HOSTILE]: HOSTILE }, evidence: { note: HOSTILE, more: HOSTILE_CLOSE } }],
      phases: [{ name: HOSTILE, start: t, end: t + 5_000 }],
      samples: [1, 2, 3].map((i) => ({
        t: t + i * 1_000,
        elapsed_ms: i * 1_000,
        fleet: { connected: i, by_instance: { [HOSTILE]: i }, latency: {} },
        rates: {},
        registry: { error: HOSTILE },
        redis_ping_ms: null,
        redis_slow: { count: 1, max_ms: 20 + i, by_command: { [HOSTILE]: 1 } },
      })),
      events: [
        { t, source: "probe", type: HOSTILE, client: HOSTILE_CLOSE, reason: HOSTILE },
        { t: t + 1_000, source: "fault", type: "fault_start", fault_id: HOSTILE, kind: HOSTILE, description: HOSTILE },
        { t: t + 1_500, source: "fleet", type: "message_error", client: "c1", code: HOSTILE },
        { t: t + 2_000, source: "process", type: "process_state", target: HOSTILE, state: "stopped", exit: { signal: "SIGKILL" } },
      ],
    };
    const { page, consoleErrors, requests } = await openReport(await writeReport(run, dir, "hostile"));
    expect(await reportStatus(page)).toEqual({ status: "ok", messages: "" });
    expect(await page.locator("#app img").count()).toBe(0);
    expect(await page.locator("body").getAttribute("data-pwned")).toBeNull();
    expect(await page.locator("#verdict h1").textContent()).toBe(HOSTILE);
    await page.locator("#event-source").selectOption("");
    await page.locator("#event-text").fill("onerror");
    await expect.poll(() => page.locator("#event-rows tr").count()).toBe(run.events.length);
    expect(await page.locator("#event-rows").textContent()).toContain(HOSTILE_CLOSE);
    expect(await page.locator(`figure[data-chart="connections"] .u-legend .u-label`).allTextContents()).toEqual(["time", HOSTILE]);
    expect(await page.locator(`figure[data-chart="errors"] .u-legend .u-label`).allTextContents()).toEqual(["time", `route ${HOSTILE}`]);
    expect(await page.locator(`figure[data-chart="redis-slow"] figcaption .note`).textContent()).toBe(`3 counted: ${HOSTILE} 3`);
    expect(await page.locator(`figure[data-chart="redis-slow"] canvas`).count()).toBe(1);
    expect(await page.locator("#app").textContent()).toContain(HOSTILE_CLOSE);
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it("should render runs with most fields missing without a script error", async () => {
    const dir = await tempDir("traffic-cop-html-empty-");
    const cases: [string, unknown][] = [
      ["empty object", {}],
      ["not an object", [1, 2, 3]],
      ["errored before any sample", { scenario: "restart", status: "error", exit_code: 2, error: { code: "HARNESS_ERR_X", message: HOSTILE }, checks: [], samples: [], events: [], phases: [] }],
      [
        "odd samples and events",
        {
          status: "passed",
          checks: [{ name: "no-ghosts", pass: true }, null],
          phases: [{ name: "load", start: 1_000 }],
          samples: [{ t: 1_500, fleet: null, registry: { error: "ECONNREFUSED" }, redis_ping_ms: null }, { elapsed_ms: 2_000 }, "x"],
          events: [{ t: 1_200, source: "fault", type: "fault_start", fault_id: "f1" }, { source: "process" }, 7],
          baseline: { error: "ENOENT" },
          topology: { instances: "none" },
        },
      ],
    ];
    for (const [name, run] of cases) {
      const { page, consoleErrors, requests } = await openReport(await writeReport(run, dir, name.replace(/\W+/g, "-")));
      expect(await reportStatus(page), name).toEqual({ status: "ok", messages: "" });
      expect(await page.locator("#verdict").count(), name).toBe(1);
      expect(await page.locator("#app img").count(), name).toBe(0);
      expect(consoleErrors, name).toEqual([]);
      expect(requests, name).toEqual([]);
      if (name === "errored before any sample") {
        expect(await page.locator("#verdict").getAttribute("data-status")).toBe("error");
        expect(await page.locator("#no-checks").count()).toBe(1);
        expect(await page.locator("#no-samples").count()).toBe(1);
        expect(await page.locator("#run-error pre").textContent()).toBe(HOSTILE);
      }
      await page.context().close();
    }
  });

  it("should render a run of 150,000 events without started_at", async () => {
    const dir = await tempDir("traffic-cop-html-big-");
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    // More times than a spread into Math.min can take (about 125,000): the page must scan them in a loop.
    const events = Array.from({ length: 150_000 }, (_, i) => ({
      t: t0 + ((i * 7_919) % 150_000) * 2,
      source: "fleet",
      type: i % 3 === 0 ? "message_acked" : "welcome",
      client: `c${i % 4_000}`,
      instance_id: `gw-${(i % 4) + 1}`,
      latency_ms: (i % 97) + 1,
    }));
    const samples = Array.from({ length: 300 }, (_, i) => ({ t: t0 + i * 1_000, elapsed_ms: i * 1_000, fleet: { connected: 4_000, by_instance: { "gw-1": 1_000, "gw-2": 1_000, "gw-3": 1_000, "gw-4": 1_000 }, latency: {} }, rates: { sent: 100 }, registry: { records: 4_000 }, redis_ping_ms: 1 }));
    const { page, consoleErrors } = await openReport(await writeReport({ scenario: "big", status: "passed", checks: [], events, samples }, dir, "big"));
    expect(await reportStatus(page)).toEqual({ status: "ok", messages: "" });
    await page.locator("#event-source").selectOption("");
    expect(await page.locator("#event-count").textContent()).toBe(`Showing the first ${EVENT_ROW_LIMIT} of 150000 matching events (150000 in all); narrow the filter to see others.`);
    expect(await page.locator(`figure[data-chart="latency-ack"] canvas`).count()).toBe(1);
    expect(await page.locator(`figure[data-chart="route-scatter"] figcaption`).textContent()).toContain("of 50,000 routes");
    expect(consoleErrors).toEqual([]);
  });

  it("should report a page whose data cannot be read", async () => {
    const dir = await tempDir("traffic-cop-html-broken-");
    const file = join(dir, "broken.html");
    await writeFile(file, await renderHtml("{not json"));
    const { page } = await openReport(file);
    const { status, messages } = await reportStatus(page);
    expect(status).toBe("error");
    expect(messages).toContain("run data: SyntaxError");
  });

  it("should save a full-page screenshot and leave no Chromium process behind", async () => {
    const dir = await tempDir("traffic-cop-html-shot-");
    const tag = `${process.pid}-shot-${Date.now()}`;
    let pid: number | undefined;
    const png = await screenshotReport(await writeReport({ scenario: "restart", status: "passed", checks: [] }, dir, "shot"), join(dir, "screenshot.png"), {
      env: { [LAUNCH_TAG_ENV]: tag },
      onLaunch: (launched) => (pid = launched),
    });
    expect(pid).toBeDefined();
    expect(await awaitGone({ pid: pid!, tag }), "Chromium processes left by screenshotReport").toEqual([]);
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(bytes.readUInt32BE(16)).toBe(SCREENSHOT_VIEWPORT.width);
    expect((await stat(png)).size).toBeGreaterThan(5_000);
  });

  it("should kill every process of a Chromium whose page never finishes", async () => {
    const dir = await tempDir("traffic-cop-html-hang-");
    const file = join(dir, "hang.html");
    await writeFile(file, "<!doctype html><p>spinning</p><script>for (;;) {}</script>");
    const before = launches.length;
    await expect(openReport(file, { timeoutMs: 3_000, ownLaunch: true })).rejects.toThrow(/Timeout 3000ms exceeded/);
    const launch = launches[before]!;
    // The main process, its zygotes and the spinning renderer are alive until the test's cleanup kills the group
    // (and fails the test if any of them outlives it).
    expect(launchProcesses(launch).length).toBeGreaterThan(2);
  });
});
