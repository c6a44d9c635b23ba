/**
 * Where a child process of the harness starts from (a fleet worker, the local runtime's proxy server): the compiled
 * module when the harness runs from JavaScript, else an esbuild bundle of the TypeScript sources (our modules inlined,
 * packages left to `node_modules`; cached by content hash), else the sources on tsx.
 */
import { fileURLToPath } from "node:url";
import { writeContentAddressed } from "./cached-file.js";
import { createLogger } from "./logger.js";

const log = createLogger("harness:child-entry");

/** Where bundles are cached: inside node_modules, so that a bundle resolves its packages from there. */
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
        const esbuild = await import("esbuild");
        const built = await esbuild.build({ entryPoints: [path], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", write: false, logLevel: "silent" });
        const code = built.outputFiles[0]?.contents;
        if (code !== undefined) return { path: await writeContentAddressed(BUNDLE_DIR, name, ".mjs", code), execArgv: [...nodeFlags] };
      } catch (error) {
        log("bundling failed, the child runs on tsx", { name, error: (error as Error).message });
      }
      return { path, execArgv: [...nodeFlags, "--import", "tsx"] };
    })());
}
