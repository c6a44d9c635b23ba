/**
 * Headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core) for the report page: a full-page
 * PNG of a report for `--screenshot`, and the launch the browser tests share. The browser runs as the leader of
 * a process group of its own; closing a session kills the whole group, so no renderer or zygote outlives it.
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Browser, BrowserServer } from "playwright-core";
import { HarnessError } from "../errors.js";

/** Where Debian's chromium package puts the browser (`apt-get install -y chromium`). */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** Flags of every launch: headless, no sandbox (containers, root), and nothing that talks to the network. */
export const CHROMIUM_ARGS = Object.freeze([
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
]);
/** Viewport of the screenshot: wide enough for the page's 1320 px column. */
export const SCREENSHOT_VIEWPORT = Object.freeze({ width: 1_400, height: 900 });
const RENDER_TIMEOUT_MS = 60_000;

/** A running Chromium and the Playwright connection to it. */
export interface ChromiumSession {
  readonly browser: Browser;
  /** Process id of the browser, which is also its process group id. */
  readonly pid: number;
  /** Closes the connection, then SIGKILLs the whole process group; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** Extra environment of the browser process (tests tag their launches with it). */
  env?: Record<string, string>;
  /** Called with the browser's process id (its process group id) once it runs (tests check it is gone after). */
  onLaunch?: (pid: number) => void;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Starts Chromium; rejects with `HARNESS_ERR_CHROMIUM_MISSING` when it is not installed. */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<ChromiumSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `${CHROMIUM_PATH} is missing: install it with \`apt-get install -y chromium\``);
  const { chromium } = await import("playwright-core");
  const server: BrowserServer = await chromium.launchServer({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    headless: true,
    env: { ...(process.env as Record<string, string>), ...options.env },
  });
  const pid = server.process().pid;
  let browser: Browser;
  try {
    if (pid === undefined) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `${CHROMIUM_PATH} did not start`);
    options.onLaunch?.(pid);
    browser = await chromium.connect(server.wsEndpoint());
  } catch (error) {
    await server.kill().catch(() => undefined);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    browser,
    pid,
    close: () =>
      (closing ??= (async () => {
        await browser.close().catch(() => undefined);
        await server.close().catch(() => undefined);
        killGroup(pid);
      })()),
  };
}

/** Waits until the report page says it has drawn everything (`#report-status` no longer "pending") and painted. */
export const REPORT_DRAWN = `new Promise((resolve) => {
  const check = () => {
    const marker = document.getElementById("report-status");
    if (marker && marker.dataset.status !== "pending") requestAnimationFrame(() => requestAnimationFrame(() => resolve(marker.dataset.status)));
    else setTimeout(check, 10);
  };
  check();
})`;

/** Saves a full-page PNG of a report's index.html with a Chromium of its own, closed after; returns the PNG's path. */
export async function screenshotReport(htmlFile: string, pngFile: string, launch: LaunchChromiumOptions = {}): Promise<string> {
  const session = await launchChromium(launch);
  try {
    const page = await session.browser.newPage({ viewport: { ...SCREENSHOT_VIEWPORT } });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: "load", timeout: RENDER_TIMEOUT_MS });
    await page.evaluate(REPORT_DRAWN);
    await page.screenshot({ path: pngFile, fullPage: true, timeout: RENDER_TIMEOUT_MS });
    return pngFile;
  } finally {
    await session.close();
  }
}
