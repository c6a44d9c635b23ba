import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { renderHtml } from "../../harness/report/html-reporter.js";
import type { RunResult } from "../../harness/report/run-result.js";
import { runScenario } from "../../harness/scenario/engine.js";
import restart from "../../scenarios/restart.js";
import { expectNoLeftovers } from "../helpers/scenario-run.js";

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

/** Environment variable carrying a launch's own tag: Chromium's crash handlers leave its process group but keep it. */
const LAUNCH_TAG_ENV = "TRAFFIC_COP_TEST_CHROMIUM";
const STOP_TIMEOUT_MS = 5_000;
const MAX_DOM_BYTES = 64 * 1024 * 1024;

/** One Chromium launch: its process group id, its tag, and how many live processes it had when it was stopped. */
interface Launch {
  pid: number;
  tag: string;
  atStop: number[];
}
const launches: Launch[] = [];

/**
 * Live processes of a launch (Linux /proc): every member of its process group (main process, zygotes, renderers,
 * GPU and utility processes, whose environment Chromium clears) and every process carrying its tag (the crash
 * handlers, which start sessions of their own). Zombies are left out: they run nothing and init reaps them.
 */
function launchProcesses(launch: Pick<Launch, "pid" | "tag">): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" || state === "X") continue;
      if (Number(pgrp) === launch.pid) {
        found.push(Number(entry));
        continue;
      }
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`${LAUNCH_TAG_ENV}=${launch.tag}`)) found.push(Number(entry));
    } catch {
      // Ended while we looked, or another user's process.
    }
  }
  return found.sort((a, b) => a - b);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** SIGKILLs the launch's whole process group and its tagged processes, and waits until none is left; returns those left. */
async function stopLaunch(launch: Launch): Promise<number[]> {
  launch.atStop = launchProcesses(launch);
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    killQuietly(-launch.pid);
    const left = launchProcesses(launch);
    for (const pid of left) killQuietly(pid);
    if (left.length === 0 || Date.now() > deadline) return left;
    await delay(20);
  }
}

/**
 * Loads the page in headless Chromium and returns the DOM after its scripts ran. Chromium runs in a process group
 * of its own; after the dump, on a failure and on a timeout the whole group is killed, and the dump fails if any
 * process of the launch is still alive.
 */
async function dumpDom(htmlFile: string, timeoutMs = DUMP_TIMEOUT_MS): Promise<string> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the HTML report test needs a real browser; install it with \`apt-get install -y chromium\``);
  const profile = await mkdtemp(join(tmpdir(), "traffic-cop-chromium-"));
  let launch: Launch | undefined;
  // Also when the test itself fails or times out: the launch is stopped before its profile is removed.
  onTestFinished(async () => {
    if (launch) await stopLaunch(launch);
    await rm(profile, { recursive: true, force: true });
  });
  const child = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--dump-dom", `file://${htmlFile}`], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, [LAUNCH_TAG_ENV]: profile },
  });
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once("error", resolve));
    throw new Error(`chromium did not start: ${error.message}`);
  }
  const started: Launch = { pid: child.pid, tag: profile, atStop: [] };
  launch = started;
  launches.push(started);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      const stdout: Buffer[] = [];
      let bytes = 0;
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_DOM_BYTES) reject(new Error(`chromium printed more than ${MAX_DOM_BYTES} bytes`));
        else stdout.push(chunk);
      });
      child.stderr.on("data", (chunk: Buffer) => void (stderr = (stderr + chunk.toString("utf8")).slice(-16_384)));
      child.once("error", (error) => reject(new Error(`chromium failed: ${error.message}`)));
      child.once("close", (code, signal) => {
        if (code === 0) resolve(Buffer.concat(stdout).toString("utf8"));
        else reject(new Error(`chromium failed: exit code ${code}, signal ${signal}\n${stderr}`));
      });
      timer = setTimeout(() => reject(new Error(`chromium did not finish within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    expect(await stopLaunch(started), `Chromium processes left by ${htmlFile}`).toEqual([]);
  }
}

async function renderInBrowser(run: unknown, dir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.html`);
  await writeFile(file, await renderHtml(JSON.stringify(run)));
  return dumpDom(file);
}

/** The page's own marker: `ok` once every section rendered without an error. */
function reportStatus(dom: string): { status: string; messages: string } {
  const match = /<pre id="report-status" data-status="(\w+)"[^>]*>([\s\S]*?)<\/pre>/.exec(dom);
  return { status: match?.[1] ?? "missing", messages: match?.[2] ?? "" };
}

function figure(dom: string, chart: string): string {
  const start = dom.indexOf(`<figure class="chart" data-chart="${chart}"`);
  expect(start, `chart ${chart}`).toBeGreaterThanOrEqual(0);
  return dom.slice(start, dom.indexOf("</figure>", start));
}

function all(re: RegExp, text: string): string[][] {
  return [...text.matchAll(re)].map((m) => m.slice(1));
}

describe("HTML report in a real browser", { timeout: 180_000 }, () => {
  afterEach(() => {
    for (const launch of launches) expect(launchProcesses(launch), `Chromium launch ${launch.pid}`).toEqual([]);
  });

  it("should render a fresh failing run: verdict, checks, charts per instance, faults, escaped payloads", async () => {
    const out = await tempDir("traffic-cop-html-");
    const { result, reportDir } = await runScenario({ scenario: restart, seed: SEED, clients: CLIENTS, registry: "memory", outDir: out });
    await expectNoLeftovers(result);
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

    // Connections chart: one series per instance, and each fault shaded on every chart.
    const instances = (run.topology.instances as { id: string }[]).map((i) => i.id).sort();
    const connections = figure(dom, "connections");
    expect(all(/<div class="u-label">([^<]*)<\/div>/g, connections).map(([id]) => id)).toEqual(["time", ...instances]);
    const faults = run.events.filter((e) => e.source === "fault" && e.type === "fault_start").map((e) => String(e.fault_id));
    expect(faults.length).toBeGreaterThanOrEqual(2);
    const timeline = figure(dom, "timeline");
    expect(all(/<g class="fault" data-fault="([^"]+)"/g, timeline).map(([id]) => id)).toEqual(faults);
    expect(timeline).toContain(`data-mark="kill"`);
    expect(timeline).toContain(`data-mark="start"`);
    for (const chart of ["connections", "registry", "rates", "latency-ack", "route-scatter", "redis-ping"]) {
      expect(figure(dom, chart)).toContain(`class="uplot`);
      expect(figure(dom, chart)).toContain(`data-bands="${faults.length}"`);
    }

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
    // Data the page cannot parse stands in for a bug: the page still renders and the marker says "error".
    const file = join(dir, "broken.html");
    await writeFile(file, await renderHtml("{not json"));
    const { status, messages } = reportStatus(await dumpDom(file));
    expect(status).toBe("error");
    expect(messages).toContain("run data: SyntaxError");
  });

  it("should kill every process of a Chromium that never finishes its page", async () => {
    const dir = await tempDir("traffic-cop-html-hang-");
    const file = join(dir, "hang.html");
    await writeFile(file, "<!doctype html><p>spinning</p><script>for (;;) {}</script>");
    const before = launches.length;
    await expect(dumpDom(file, 5_000)).rejects.toThrow(/chromium did not finish within 5000 ms/);
    const launch = launches[before]!;
    // The main process, its zygotes and the spinning renderer were alive when the group was killed; none is now.
    expect(launch.atStop.length).toBeGreaterThan(2);
    expect(launchProcesses(launch)).toEqual([]);
  });
});
