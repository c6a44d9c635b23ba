/**
 * Builds the report page's script: the typed modules of `page/` bundled with esbuild into one browser script
 * (IIFE), once per process. The result is inlined into every index.html, so it must not be able to end its
 * `<script>` element: `</script` and `<!--` are escaped where esbuild leaves them.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HarnessError } from "../errors.js";

/** Browsers the page supports (Chromium, Firefox and Safari of the last years). */
const PAGE_TARGET = "es2020";

let bundled: Promise<string> | undefined;

/** Path of the page's entry: the TypeScript source, or its compiled JavaScript when running from `dist/`. */
function pageEntry(): string {
  const ts = fileURLToPath(new URL("./page/main.ts", import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL("./page/main.js", import.meta.url));
}

/** Makes script text safe to inline in `<script>`: no `</script` and no `<!--`, with the same meaning as JavaScript. */
export function escapeInlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "\\x3C!--");
}

async function build(): Promise<string> {
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
  return escapeInlineScript(code);
}

/** The page's script, bundled on the first call and reused by every later one in this process. */
export function pageScript(): Promise<string> {
  bundled ??= build().catch((error: unknown) => {
    bundled = undefined;
    throw new HarnessError("HARNESS_ERR_INVALID_STATE", `cannot bundle the report page's script (${pageEntry()}): ${(error as Error).message}`, { cause: error });
  });
  return bundled;
}
