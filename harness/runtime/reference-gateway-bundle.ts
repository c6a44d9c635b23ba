/**
 * The reference gateway as one esbuild bundle, as its container image runs it: a gateway process then runs plain
 * JavaScript instead of loading tsx, whose loader compiles every module of src/ at each start. The runs of a test
 * suite or a gate start hundreds of gateways (every instance, restart, deploy and drain), and each start on tsx
 * costs more time and CPU: a Node server listens about 180 ms after spawn, 480 ms under tsx (docs of the machine);
 * spawn to a ready gateway took 1.6 to 2.1 s from the bundle against 2.2 to 3.5 s on tsx on a loaded 2-core machine.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import createDebug from "debug";
import { REFERENCE_SUT, REPO_ROOT, resolveSutDefinition, type ResolvedSutDefinition } from "./sut.js";

const log = createDebug("harness:runtime");

/** Where the bundles are cached (inside node_modules, so that the bundle resolves its packages from there). */
const BUNDLE_DIR = join(REPO_ROOT, "node_modules", ".cache", "traffic-cop");
/** The reference gateway's entry, relative to the repository root (the last argument of REFERENCE_SUT). */
const ENTRY = "src/gateway/main.ts";

let bundled: Promise<string | undefined> | undefined;

/**
 * Bundles src/gateway/main.ts and its modules into one ES module (packages stay external), cached by content hash,
 * once per process. Undefined when esbuild cannot build it: the gateway then runs on tsx, as REFERENCE_SUT says.
 */
function bundleReferenceGateway(): Promise<string | undefined> {
  return (bundled ??= (async () => {
    try {
      const esbuild = await import("esbuild");
      const built = await esbuild.build({ entryPoints: [join(REPO_ROOT, ENTRY)], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", write: false, logLevel: "silent" });
      const code = built.outputFiles[0]?.contents;
      if (code === undefined) return undefined;
      const file = join(BUNDLE_DIR, `gateway-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`);
      if (!existsSync(file)) {
        await mkdir(BUNDLE_DIR, { recursive: true });
        // Write then rename: gateways started at once by other processes never see half a file.
        const partial = `${file}.${process.pid}.tmp`;
        await writeFile(partial, code);
        await rename(partial, file);
      }
      return file;
    } catch (error) {
      log("bundling the reference gateway failed, it runs on tsx: %O", error);
      return undefined;
    }
  })());
}

const REFERENCE = resolveSutDefinition(REFERENCE_SUT);

/** True when `sut` starts the reference gateway exactly as REFERENCE_SUT does (same command, arguments and folder). */
function isReference(sut: ResolvedSutDefinition): boolean {
  return sut.command === REFERENCE.command && sut.cwd === REFERENCE.cwd && sut.args.length === REFERENCE.args.length && sut.args.every((arg, i) => arg === REFERENCE.args[i]);
}

/**
 * The definition to spawn for `sut`: the reference gateway from its bundle (same Node flags, environment and
 * readiness), any other SUT as it is.
 */
export async function spawnableSut(sut: ResolvedSutDefinition): Promise<ResolvedSutDefinition> {
  if (!isReference(sut)) return sut;
  const bundle = await bundleReferenceGateway();
  if (bundle === undefined) return sut;
  const flags = sut.args.slice(0, sut.args.indexOf("--import"));
  return Object.freeze({ ...sut, args: Object.freeze([...flags, bundle]) });
}
