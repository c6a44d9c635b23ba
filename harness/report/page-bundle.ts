/**
 * Builds the report page's script: the typed modules of `page/` bundled with esbuild into one browser script
 * (IIFE, uPlot included), once per process, with uPlot's stylesheet. Both are inlined into every index.html, so
 * the script must not be able to end its `<script>` element: `</script` and `<!--` are escaped where esbuild
 * leaves them.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { HarnessError } from "../errors.js";

/** Browsers the page supports (Chromium, Firefox and Safari of the last years). */
const PAGE_TARGET = "es2020";

/** What the page inlines besides the data. */
export interface PageAssets {
  script: string;
  /** uPlot's stylesheet (the page's own is html-report-style.ts). */
  chartStyle: string;
}

let bundled: Promise<PageAssets> | undefined;

/** Path of the page's entry: the TypeScript source, or its compiled JavaScript when running from `dist/`. */
function pageEntry(): string {
  const ts = fileURLToPath(new URL("./page/main.ts", import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL("./page/main.js", import.meta.url));
}

/** Makes script text safe to inline in `<script>`: no `</script` and no `<!--`, with the same meaning as JavaScript. */
export function escapeInlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "\\x3C!--");
}

async function build(): Promise<PageAssets> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [pageEntry()],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: PAGE_TARGET,
    minify: true,
    legalComments: "inline",
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `esbuild produced no output for ${pageEntry()}`);
  const chartStyle = await readFile(createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css"), "utf8");
  return { script: escapeInlineScript(code), chartStyle: chartStyle.replace(/<\/(style)/gi, "<\\/$1") };
}

/** The page's script and chart stylesheet, bundled on the first call and reused by every later one in this process. */
export function pageAssets(): Promise<PageAssets> {
  bundled ??= build().catch((error: unknown) => {
    bundled = undefined;
    throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot bundle the report page's script or read uPlot's stylesheet (${pageEntry()}): ${(error as Error).message}`, { cause: error });
  });
  return bundled;
}
