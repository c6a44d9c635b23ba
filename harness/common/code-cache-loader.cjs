"use strict";
/**
 * `node [flags] code-cache-loader.cjs <cache dir> <bundle.cjs> [args...]`: runs a CommonJS bundle of the harness
 * (./bundle.ts, format "cjs") as the main module, with V8's code cache for it kept in `<cache dir>`.
 *
 * Without a cache, V8 compiles every function the bundle runs at start-up from source, in every process. A gateway's
 * CPU up to its `listening` line (all threads, 30 interleaved starts each, a 2-core machine): 0.189 s without the
 * cache, 0.169 s with it (and 0.217 s as an ES module, which Node 20 cannot cache). The cache holds the bytecode
 * of every function the process compiled, written when the process exits (so it covers the start and the work after
 * it) by a process that found no usable cache; V8 takes it only for the same V8 version and flags and a source of
 * the same length, so its file is named by a hash of the Node version, the architecture, the Node flags and the
 * bundle's content. It is only ever an optimisation: a cache that cannot be
 * read, written or used is ignored, and the bundle compiles as it would without one.
 *
 * The bundle sees what a main module sees: `process.argv[1]` is its own path (resolved as Node resolves a main
 * module's), `__filename`, `__dirname` and `require` are its own.
 */
const { createHash } = require("node:crypto");
const { readFileSync, realpathSync, renameSync, rmSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join, resolve } = require("node:path");
const { Script } = require("node:vm");

const [cacheDir, bundleArg] = process.argv.slice(2, 4);
if (cacheDir === undefined || bundleArg === undefined) {
  process.stderr.write("usage: node [flags] code-cache-loader.cjs <cache dir> <bundle.cjs> [args...]\n");
  process.exit(2);
}
const file = realpathSync(resolve(bundleArg));
process.argv.splice(1, 3, file);

const source = readFileSync(file, "utf8");
const key = createHash("sha256").update([process.version, process.arch, ...process.execArgv, source].join("\0")).digest("hex").slice(0, 16);
const cacheFile = join(cacheDir, `v8-code-${key}.bin`);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    const partial = `${cacheFile}.${process.pid}.tmp`;
    try {
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      // A cache is only an optimisation: a full disk or a read-only folder leaves the next start without one.
      try {
        rmSync(partial, { force: true });
      } catch {
        // Nothing of it was written.
      }
    }
  });
}
const bundle = { exports: {}, filename: file, id: ".", loaded: false };
script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dirname(file));
bundle.loaded = true;
