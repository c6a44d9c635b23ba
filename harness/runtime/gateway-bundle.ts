/**
 * TypeScript entry points bundled with esbuild into one self-contained ES module (ioredis and ws inlined), for
 * plain `node`: the container images run the reference gateway so, and the gate runs it so on the local runtime.
 * Under tsx every start compiles and loads `src/` through its loader again: on the 2 shared cores, three gateways
 * starting together took 2.8-4.3 s each under tsx and 0.8-2.0 s bundled (load average about 20).
 */
import { join } from "node:path";
import { REFERENCE_GATEWAY_NODE_FLAGS, REFERENCE_SUT, REPO_ROOT, resolveSutDefinition, type ResolvedSutDefinition } from "./sut.js";

/**
 * Bundles `entry` (a path relative to the repository, or a module's TypeScript source whose imports resolve from
 * the repository's root) into `outfile`.
 */
export async function bundleEntry(entry: string | { source: string }, outfile: string): Promise<void> {
  const esbuild = await import("esbuild");
  await esbuild.build({
    ...(typeof entry === "string" ? { entryPoints: [join(REPO_ROOT, entry)] } : { stdin: { contents: entry.source, resolveDir: REPO_ROOT, loader: "ts" as const, sourcefile: "entry.ts" } }),
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    // ws loads these optional native helpers in a try/catch; the bundle runs without them.
    external: ["bufferutil", "utf-8-validate"],
    // Bundled CommonJS packages call require() for Node built-ins, which an ES module lacks.
    banner: { js: "import { createRequire as __tcCreateRequire } from 'node:module'; const require = __tcCreateRequire(import.meta.url);" },
  });
}

/**
 * The reference gateway (`src/gateway/main.ts`) bundled into `dir/reference-gateway.mjs`, as a SUT definition:
 * the same source, flags and working directory as {@link REFERENCE_SUT}, started by plain `node`.
 */
export async function bundleReferenceGateway(dir: string): Promise<ResolvedSutDefinition> {
  const outfile = join(dir, "reference-gateway.mjs");
  await bundleEntry("src/gateway/main.ts", outfile);
  return resolveSutDefinition({ ...REFERENCE_SUT, name: "reference (bundled)", args: [...REFERENCE_GATEWAY_NODE_FLAGS, outfile] });
}
