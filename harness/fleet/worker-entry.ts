/**
 * Where a fleet worker process starts from: the compiled worker when running from JavaScript, else an esbuild bundle
 * of the TypeScript sources (cached by content hash), else the sources on tsx.
 */
import { fileURLToPath } from "node:url";
import createDebug from "debug";
import { writeContentAddressed } from "../common/cached-file.js";

const log = createDebug("harness:fleet");

/**
 * V8 flags of the workers. A small young generation keeps a worker's resident memory close to what its sockets
 * really hold (the default lets the nursery grow to tens of MB during a ramp).
 */
const WORKER_V8_FLAGS = ["--max-semi-space-size=2"];
/** Where bundled workers are cached (inside node_modules, so the bundle resolves its packages from there). */
const WORKER_BUNDLE_DIR = fileURLToPath(new URL("../../node_modules/.cache/traffic-cop/", import.meta.url));

let bundledWorker: Promise<string | undefined> | undefined;

/**
 * Bundles worker-process.ts and our modules into one ES module (packages stay external), cached by content hash:
 * a worker then runs plain JS instead of loading tsx, whose loader thread costs each worker about 28 MB of
 * resident memory and its start-up time. Undefined when esbuild is not available (the worker then runs on tsx).
 */
function bundleWorker(source: string): Promise<string | undefined> {
  return (bundledWorker ??= (async () => {
    try {
      const esbuild = await import("esbuild");
      const built = await esbuild.build({ entryPoints: [source], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", write: false, logLevel: "silent" });
      const code = built.outputFiles[0]?.contents;
      if (code === undefined) return undefined;
      return await writeContentAddressed(WORKER_BUNDLE_DIR, "fleet-worker", ".mjs", code);
    } catch (error) {
      log("bundling the fleet worker failed, workers run on tsx: %O", error);
      return undefined;
    }
  })());
}

/** Path of the worker entry and the Node flags it needs (a bundle when running from TypeScript sources, else tsx). */
export async function workerEntry(): Promise<{ path: string; execArgv: string[] }> {
  const ts = import.meta.url.endsWith(".ts");
  const path = fileURLToPath(new URL(ts ? "./worker-process.ts" : "./worker-process.js", import.meta.url));
  if (!ts) return { path, execArgv: [...WORKER_V8_FLAGS] };
  const bundle = await bundleWorker(path);
  return bundle === undefined ? { path, execArgv: [...WORKER_V8_FLAGS, "--import", "tsx"] } : { path: bundle, execArgv: [...WORKER_V8_FLAGS] };
}
