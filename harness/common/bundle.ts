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

/** Bundles `entry` into one ES module and returns its code. */
export async function buildBundle(entry: BundleEntry): Promise<Uint8Array> {
  const esbuild = await import("esbuild");
  const built = await esbuild.build({
    ...("path" in entry ? { entryPoints: [entry.path] } : { stdin: { contents: entry.source, resolveDir: entry.resolveDir, loader: "ts" as const, sourcefile: "entry.ts" } }),
    write: false,
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
  const code = built.outputFiles[0]?.contents;
  if (code === undefined) throw new Error(`esbuild wrote no output for ${"path" in entry ? entry.path : `a source entry in ${entry.resolveDir}`}`);
  return code;
}
