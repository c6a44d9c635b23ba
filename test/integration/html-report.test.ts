import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { renderHtml } from "../../harness/report/html-reporter.js";
import type { RunResult } from "../../harness/report/run-result.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { runScenario } from "../../harness/scenario/engine.js";
import restart from "../../scenarios/restart.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const DUMP_TIMEOUT_MS = 60_000;
const SEED = 4_242;
const CLIENTS = 60;
/** Rows the events table renders at most (EVENT_ROW_LIMIT of the page's script). */
const EVENT_ROW_LIMIT = 500;
const HOSTILE = `<img src=x onerror="document.body.setAttribute('data-pwned','1')">`;
const HOSTILE_CLOSE = `</script><script>document.body.setAttribute('data-pwned','2')</script><!--`;

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Loads the page in headless Chromium and returns the DOM after its scripts ran. */
async function dumpDom(htmlFile: string): Promise<string> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the HTML report test needs a real browser; install it with \`apt-get install -y chromium\``);
  const profile = await tempDir("traffic-cop-chromium-");
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--dump-dom", `file://${htmlFile}`], { timeout: DUMP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function renderInBrowser(run: unknown, dir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.html`);
  await writeFile(file, renderHtml(JSON.stringify(run)));
  return dumpDom(file);
}

/** The page's own marker: `ok` once every section rendered without an error. */
function reportStatus(dom: string): { status: string; messages: string } {
  const match = /<pre id="report-status" data-status="(\w+)"[^>]*>([\s\S]*?)<\/pre>/.exec(dom);
  return { status: match?.[1] ?? "missing", messages: match?.[2] ?? "" };
}

function figure(dom: string, chart: string): string {
  const start = dom.indexOf(`<figure class="chart" data-chart="${chart}">`);
  expect(start, `chart ${chart}`).toBeGreaterThanOrEqual(0);
  return dom.slice(start, dom.indexOf("</figure>", start));
}

function all(re: RegExp, text: string): string[][] {
  return [...text.matchAll(re)].map((m) => m.slice(1));
}

describe("HTML report in a real browser", { timeout: 180_000 }, () => {
  it("should render a fresh failing run: verdict, checks, charts per instance, faults, escaped payloads", async () => {
    const out = await tempDir("traffic-cop-html-");
    const { result, reportDir } = await runScenario({ scenario: restart, seed: SEED, clients: CLIENTS, registry: "memory", outDir: out });
    expect(await findLeftovers({ runId: result.run_id, ports: (result.topology.instances as { port: number }[]).map((i) => i.port) })).toEqual({ processes: [], listening: [] });
    expect(result.status).toBe("failed");

    // The page the engine wrote, as it is.
    const written = await dumpDom(join(reportDir, "index.html"));
    expect(reportStatus(written)).toEqual({ status: "ok", messages: "" });
    expect(written).toContain(`<header class="verdict failed" id="verdict" data-status="failed">`);

    // The same run with payloads a hostile system under test could put in events, checks and faults.
    const run = JSON.parse(await readFile(join(reportDir, "run.json"), "utf8")) as RunResult;
    const first = run.events[0]!.t;
    run.events.unshift({ t: first, source: "probe", type: HOSTILE, client: HOSTILE_CLOSE, reason: HOSTILE });
    run.checks[0]!.evidence = { note: HOSTILE, more: HOSTILE_CLOSE };
    const faultStart = run.events.find((e) => e.source === "fault" && e.type === "fault_start")!;
    faultStart.description = HOSTILE;
    const dom = await renderInBrowser(run, out, "hostile");
    expect(reportStatus(dom)).toEqual({ status: "ok", messages: "" });

    // Verdict header with the command that reruns the same seed.
    expect(dom).toContain(">FAILED</span><h1>restart</h1>");
    expect(dom).toContain(`npm run scenario -- restart --seed ${SEED} --profile ci --runtime local --registry memory --clients ${CLIENTS}`);

    // One row per check, failed ones first, each with its verdict; failed evidence open.
    const rows = all(/<tr class="check (pass|fail)" data-check="([^"]*)" data-pass="(true|false)">/g, dom);
    const failedFirst = [...run.checks.filter((c) => !c.pass), ...run.checks.filter((c) => c.pass)];
    expect(rows).toEqual(failedFirst.map((c) => [c.pass ? "pass" : "fail", c.name, String(c.pass)]));
    expect(rows.some(([, , pass]) => pass === "false")).toBe(true);
    expect(all(/<details class="evidence" open="">/g, dom)).toHaveLength(run.checks.filter((c) => !c.pass).length);

    // Connections chart: one series per instance, and each fault as a shaded interval.
    const instances = (run.topology.instances as { id: string }[]).map((i) => i.id).sort();
    const connections = figure(dom, "connections");
    expect(all(/<path class="series" data-series="([^"]+)" data-kind="instance"/g, connections).map(([id]) => id)).toEqual(instances);
    const faults = run.events.filter((e) => e.source === "fault" && e.type === "fault_start").map((e) => String(e.fault_id));
    expect(faults.length).toBeGreaterThanOrEqual(2);
    expect(all(/<rect class="fault-band" data-fault="([^"]+)"/g, connections).map(([id]) => id)).toEqual(faults);
    const timeline = figure(dom, "timeline");
    expect(all(/<g class="fault" data-fault="([^"]+)"/g, timeline).map(([id]) => id)).toEqual(faults);
    expect(timeline).toContain(`data-mark="kill"`);
    expect(timeline).toContain(`data-mark="start"`);
    for (const chart of ["registry", "rates", "latency", "redis-ping"]) expect(figure(dom, chart)).toContain(`<path class="series"`);
    // The memory registry writes nothing to Redis: the gap between live connections and records is shaded.
    expect(figure(dom, "registry")).toMatch(/<path class="gap-area" d="M[^"]+Z"/);

    // Hostile strings appear as text, never as markup, and never ran.
    expect(dom).not.toContain("<img");
    expect(dom).not.toMatch(/<body[^>]*data-pwned/);
    const app = dom.slice(dom.indexOf(`<div id="app">`), dom.indexOf(`<pre id="report-status"`));
    expect(app).toContain("&lt;img src=x onerror=");
    expect(app).toContain("&lt;/script&gt;&lt;script&gt;");

    // The events log opens on everything but the per-client fleet events, capped, with the count.
    const quiet = run.events.filter((e) => e.source !== "fleet").length;
    expect(run.events.length - quiet).toBeGreaterThan(EVENT_ROW_LIMIT);
    expect(dom).toContain(`<option value="!fleet" selected="">all but fleet (${quiet})</option>`);
    const eventRows = dom.slice(dom.indexOf(`<tbody id="event-rows">`), dom.indexOf("</tbody>", dom.indexOf(`<tbody id="event-rows">`)));
    expect(all(/<tr[ >]/g, eventRows)).toHaveLength(Math.min(EVENT_ROW_LIMIT, quiet));
    expect(dom).toContain(quiet > EVENT_ROW_LIMIT ? `Showing the first ${EVENT_ROW_LIMIT} of ${quiet} matching events` : `${quiet} matching events (${run.events.length} in all)`);
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
      const dom = await renderInBrowser(run, dir, name.replace(/\W+/g, "-"));
      expect(reportStatus(dom), name).toEqual({ status: "ok", messages: "" });
      expect(dom, name).toContain(`id="verdict"`);
      expect(dom, name).not.toContain("<img");
    }
    const errored = await renderInBrowser(cases[2]![1], dir, "errored");
    expect(errored).toContain(`data-status="error"`);
    expect(errored).toContain(`id="no-checks"`);
    expect(errored).toContain(`id="no-samples"`);
    expect(errored).toContain("&lt;img src=x onerror=");
  });

  it("should report a page whose script fails", async () => {
    const dir = await tempDir("traffic-cop-html-broken-");
    // A renderer that throws stands in for a bug: its section shows the error and the marker says "error".
    const file = join(dir, "broken.html");
    await writeFile(file, renderHtml(JSON.stringify({ checks: [] })).replace("function renderChecks(run) {", "function renderChecks(run) { throw new Error('renderer bug');"));
    const { status, messages } = reportStatus(await dumpDom(file));
    expect(status).toBe("error");
    expect(messages).toContain("renderer bug");
  });
});
