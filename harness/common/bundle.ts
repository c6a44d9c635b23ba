/**
 * One self-contained ES module built by esbuild from a TypeScript entry, for plain `node`: our modules and the
 * packages they import (ioredis, ws, hdr-histogram-js, ...) inlined, so that a process starts by reading one file
 * instead of resolving and loading each package's files one by one. Every child process of the harness starts from
 * such a bundle (gateways, fleet workers, proxy servers; locally and in the container images). Measured on a 2-core
 * machine whose syscalls are slow (1.25 us): a fleet worker's load took 0.18 s of CPU bundled so, 0.30 s with its
 * packages left to `node_modules`.
 */
/** What to bundle: a TypeScript file, or a module's source whose imports resolve from `resolveDir`. */
export type BundleEntry = { path: string } | { source: string; resolveDir: string };

/**
 * `esm`: an ES module, for `node bundle.mjs` (the container images, tests' own entries). `cjs`: a classic script
 * (CommonJS), which the local runtime runs through ./code-cache-loader.cjs so that V8 caches its compiled code
 * between starts (Node 20 has no such cache for ES modules); its entry and modules must not use top-level await.
 */
export type BundleFormat = "esm" | "cjs";

/** Bundles `entry` into one module of `format` and returns its code. */
export async function buildBundle(entry: BundleEntry, format: BundleFormat = "esm"): Promise<Uint8Array> {
  const esbuild = await import("esbuild");
  const name = "path" in entry ? entry.path : `a source entry in ${entry.resolveDir}`;
  const built = await esbuild.build({
    ...("path" in entry ? { entryPoints: [entry.path] } : { stdin: { contents: entry.source, resolveDir: entry.resolveDir, loader: "ts" as const, sourcefile: "entry.ts" } }),
    write: false,
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    logLevel: "silent",
    // ws loads these optional native helpers in a try/catch; the bundle runs without them.
    external: ["bufferutil", "utf-8-validate"],
    ...(format === "esm"
      ? // Bundled CommonJS packages call require() for Node built-ins, which an ES module lacks.
        { banner: { js: "import { createRequire as __tcCreateRequire } from 'node:module'; const require = __tcCreateRequire(import.meta.url);" } }
      : // Our modules read `import.meta.url` (a child's own path, a main-module check): the script's own file URL.
        // Strict like the ES modules it is made of: the directive must come before the banner's statement.
        { banner: { js: "\"use strict\";\nvar __tcImportMetaUrl = require(\"node:url\").pathToFileURL(__filename).href;" }, define: { "import.meta.url": "__tcImportMetaUrl" } }),
  });
  // esbuild leaves any other `import.meta` of a script empty, and says so only in a warning: that would be a bundle
  // that runs wrong, not one that fails.
  const lost = built.warnings.filter((warning) => warning.text.includes("import.meta"));
  if (lost.length > 0) throw new Error(`cannot bundle ${name} as ${format}: ${lost.map((w) => `${w.text} (${w.location?.file}:${w.location?.line})`).join("; ")}`);
  const code = built.outputFiles[0]?.contents;
  if (code === undefined) throw new Error(`esbuild wrote no output for ${name}`);
  return code;
}
