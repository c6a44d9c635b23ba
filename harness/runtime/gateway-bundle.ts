/**
 * TypeScript entry points bundled with esbuild into one self-contained module (ioredis and ws inlined), for plain
 * `node`: the container images run the reference gateway so (an ES module), and the local runtime and the gate run
 * it so (a classic script, through the code-cache loader: ../common/child-entry.ts). Under tsx every start compiles
 * and loads `src/` through its loader again: on the 2 shared cores, three gateways starting together took 2.8-4.3 s
 * each under tsx and 0.8-2.0 s bundled (load average about 20).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import createDebug from "debug";
import { buildBundle as buildEntryBundle, type BundleFormat } from "../common/bundle.js";
import { codeCachedArgs, codeCachedBundle } from "../common/child-entry.js";
import { REFERENCE_GATEWAY_NODE_FLAGS, REFERENCE_SUT, REPO_ROOT, resolveSutDefinition, type ResolvedSutDefinition } from "./sut.js";

const log = createDebug("harness:runtime");

/**
 * Bundles `entry` (a path relative to the repository, or a module's TypeScript source whose imports resolve from
 * the repository's root) into one ES module and returns its code (../common/bundle.ts).
 */
export function buildBundle(entry: string | { source: string }, format: BundleFormat = "esm"): Promise<Uint8Array> {
  return buildEntryBundle(typeof entry === "string" ? { path: join(REPO_ROOT, entry) } : { source: entry.source, resolveDir: REPO_ROOT }, format);
}

/** Bundles `entry` (see {@link buildBundle}) into `outfile`. */
export async function bundleEntry(entry: string | { source: string }, outfile: string, format: BundleFormat = "esm"): Promise<void> {
  await mkdir(dirname(outfile), { recursive: true });
  await writeFile(outfile, await buildBundle(entry, format));
}

/**
 * The reference gateway (`src/gateway/main.ts`) bundled into `dir/reference-gateway.cjs`, as a SUT definition:
 * the same source, flags and working directory as {@link REFERENCE_SUT}, started by plain `node` through the
 * code-cache loader.
 */
export async function bundleReferenceGateway(dir: string): Promise<ResolvedSutDefinition> {
  const outfile = join(dir, "reference-gateway.cjs");
  await bundleEntry("src/gateway/main.ts", outfile, "cjs");
  return resolveSutDefinition({ ...REFERENCE_SUT, name: "reference (bundled)", args: [...REFERENCE_GATEWAY_NODE_FLAGS, ...codeCachedArgs(outfile)] });
}

let cachedReferenceArgs: Promise<string[] | undefined> | undefined;

/**
 * The reference gateway bundled once per process (../common/child-entry.ts: a classic script named by the code's
 * hash, so processes that bundle the same sources share one file, and written then renamed, so that none sees half
 * a file), as what follows the Node flags to start it. Undefined when esbuild cannot build it: the gateway then runs
 * on tsx, as {@link REFERENCE_SUT} says.
 */
function cachedReferenceGatewayArgs(): Promise<string[] | undefined> {
  return (cachedReferenceArgs ??= (async () => {
    try {
      return await codeCachedBundle("reference-gateway", { path: join(REPO_ROOT, "src/gateway/main.ts") });
    } catch (error) {
      log("bundling the reference gateway failed, it runs on tsx: %O", error);
      return undefined;
    }
  })());
}

const REFERENCE = resolveSutDefinition(REFERENCE_SUT);

/** True when `sut` starts the reference gateway exactly as {@link REFERENCE_SUT} does (command, arguments, folder). */
function isReferenceOnTsx(sut: ResolvedSutDefinition): boolean {
  return sut.command === REFERENCE.command && sut.cwd === REFERENCE.cwd && sut.args.length === REFERENCE.args.length && sut.args.every((arg, i) => arg === REFERENCE.args[i]);
}

/**
 * The definition to spawn for `sut`: the reference gateway from its cached bundle (same Node flags, environment,
 * folder and readiness; plain `node` instead of tsx), any other SUT as it is. Every instance, restart, deploy and
 * drain of a local run starts a gateway, and under tsx each start compiles `src/` again in a loader thread.
 */
export async function spawnableSut(sut: ResolvedSutDefinition): Promise<ResolvedSutDefinition> {
  if (!isReferenceOnTsx(sut)) return sut;
  const bundleArgs = await cachedReferenceGatewayArgs();
  if (bundleArgs === undefined) return sut;
  return Object.freeze({ ...sut, args: Object.freeze([...REFERENCE_GATEWAY_NODE_FLAGS, ...bundleArgs]) });
}
