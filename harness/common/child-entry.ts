/**
 * Where a child process of the harness starts from (a fleet worker, the local runtime's proxy server): the compiled
 * module when the harness runs from JavaScript, else an esbuild bundle of the TypeScript sources (our modules and
 * the packages inlined, ./bundle.ts; cached by content hash), else the sources on tsx.
 */
import { fileURLToPath } from "node:url";
import { buildBundle } from "./bundle.js";
import { writeContentAddressed } from "./cached-file.js";
import { createLogger } from "./logger.js";

const log = createLogger("harness:child-entry");

/** Where bundles are cached: inside node_modules, beside the packages the bundles leave out (ws's optional helpers). */
const BUNDLE_DIR = fileURLToPath(new URL("../../node_modules/.cache/traffic-cop/", import.meta.url));

/** How to start a child: the module to run and the Node flags before it. */
export interface ChildEntry {
  path: string;
  execArgv: string[];
}

/**
 * The entry of the child module `relative` (without extension) of the module at `moduleUrl` (the caller's
 * `import.meta.url`), with `nodeFlags` first: from TypeScript sources the module is bundled once per process into
 * `<name>-<hash>.mjs`, so that each start runs plain JavaScript instead of loading tsx, whose loader thread costs a
 * process about 28 MB of resident memory and its start-up time. Falls back to tsx when esbuild is not available.
 */
export function childEntry(moduleUrl: string, relative: string, name: string, nodeFlags: readonly string[]): () => Promise<ChildEntry> {
  let entry: Promise<ChildEntry> | undefined;
  return () =>
    (entry ??= (async () => {
      const ts = moduleUrl.endsWith(".ts");
      const path = fileURLToPath(new URL(`${relative}${ts ? ".ts" : ".js"}`, moduleUrl));
      if (!ts) return { path, execArgv: [...nodeFlags] };
      try {
        return { path: await writeContentAddressed(BUNDLE_DIR, name, ".mjs", await buildBundle({ path })), execArgv: [...nodeFlags] };
      } catch (error) {
        log("bundling failed, the child runs on tsx", { name, error: (error as Error).message });
      }
      return { path, execArgv: [...nodeFlags, "--import", "tsx"] };
    })());
}
