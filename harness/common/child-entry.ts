/**
 * Where a child process of the harness starts from (a fleet worker, the local runtime's proxy server): the compiled
 * module when the harness runs from JavaScript, else an esbuild bundle of the TypeScript sources (our modules and
 * the packages inlined, ./bundle.ts; cached by content hash) run through ./code-cache-loader.cjs, else the sources
 * on tsx.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildBundle, type BundleEntry } from "./bundle.js";
import { writeContentAddressed } from "./cached-file.js";
import { createLogger } from "./logger.js";

const log = createLogger("harness:child-entry");

/**
 * Where bundles and V8's code caches for them are kept: inside node_modules, beside the packages the bundles leave
 * out (ws's optional helpers).
 */
export const BUNDLE_DIR = fileURLToPath(new URL("../../node_modules/.cache/traffic-cop/", import.meta.url));

const LOADER = fileURLToPath(new URL("./code-cache-loader.cjs", import.meta.url));

/**
 * Bundles `entry` as a classic script into {@link BUNDLE_DIR} (`<name>-<hash>.cjs`) and returns what follows Node's
 * flags to run it: the code-cache loader, its cache folder and the bundle. Without the loader's file (a harness
 * compiled to JavaScript that left it out) the bundle alone, which runs the same without a code cache.
 */
export async function codeCachedBundle(name: string, entry: BundleEntry): Promise<string[]> {
  const bundle = await writeContentAddressed(BUNDLE_DIR, name, ".cjs", await buildBundle(entry, "cjs"));
  return codeCachedArgs(bundle);
}

/** What follows Node's flags to run the classic-script bundle `bundle` (see {@link codeCachedBundle}). */
export function codeCachedArgs(bundle: string): string[] {
  return existsSync(LOADER) ? [LOADER, BUNDLE_DIR, bundle] : [bundle];
}

/** How to start a child: the module to run, the arguments before the child's own, and the Node flags. */
export interface ChildEntry {
  path: string;
  args: string[];
  execArgv: string[];
}

/**
 * The entry of the child module `relative` (without extension) of the module at `moduleUrl` (the caller's
 * `import.meta.url`), with `nodeFlags` first: from TypeScript sources the module is bundled once per process into
 * `<name>-<hash>.cjs` and started through the code-cache loader, so that each start runs plain JavaScript, mostly
 * compiled already, instead of loading tsx, whose loader thread costs a process about 28 MB of resident memory and
 * its start-up time. Falls back to tsx when esbuild is not available.
 */
export function childEntry(moduleUrl: string, relative: string, name: string, nodeFlags: readonly string[]): () => Promise<ChildEntry> {
  let entry: Promise<ChildEntry> | undefined;
  return () =>
    (entry ??= (async () => {
      const ts = moduleUrl.endsWith(".ts");
      const path = fileURLToPath(new URL(`${relative}${ts ? ".ts" : ".js"}`, moduleUrl));
      if (!ts) return { path, args: [], execArgv: [...nodeFlags] };
      try {
        const [first, ...rest] = await codeCachedBundle(name, { path });
        return { path: first!, args: rest, execArgv: [...nodeFlags] };
      } catch (error) {
        log("bundling failed, the child runs on tsx", { name, error: (error as Error).message });
      }
      return { path, args: [], execArgv: [...nodeFlags, "--import", "tsx"] };
    })());
}
