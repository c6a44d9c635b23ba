import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, readdir, realpath, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { createLogger } from "../../common/logger.js";
import { HarnessError } from "../../errors.js";
import { LIBFAKETIME_PATH } from "../faketime.js";
import { bundleEntry } from "../gateway-bundle.js";
import { REPO_ROOT } from "../sut.js";
import { makeTempDir, removeTempDir } from "../temp-dirs.js";
import { IMAGES, LABELS, REAL_TOXIPROXY_IMAGES, type ImageRole } from "./images.js";

const run = promisify(execFile);
const log = createLogger("harness:images");
const DOCKER_BUILD_TIMEOUT_MS = 120_000;

/** How one image is assembled: host binaries (with the libraries `ldd` lists), bundles and small files. */
interface ImageRecipe {
  role: ImageRole;
  /** Host executables copied to the same path in the image. */
  binaries: string[];
  /** TypeScript entry points bundled (esbuild) into `/app/<name>`. */
  bundles: { entry: string; name: string }[];
  /**
   * Host libraries copied to the same path (with the libraries `ldd` lists) when the host has them, each recorded
   * in the image label its key names, so that a feature that needs one can tell whether the image carries it.
   */
  optionalLibraries?: { path: string; label: string }[];
}

const RECIPES: readonly ImageRecipe[] = [
  {
    role: "gateway",
    binaries: ["/usr/bin/node"],
    bundles: [{ entry: "src/gateway/main.ts", name: "gateway.mjs" }],
    // libfaketime, for an instance started on a skewed wall clock (`LD_PRELOAD`, see ../faketime.ts).
    optionalLibraries: [{ path: LIBFAKETIME_PATH, label: LABELS.libfaketime }],
  },
  { role: "toxiproxy", binaries: ["/usr/bin/node"], bundles: [{ entry: "harness/toxiproxy/main.ts", name: "toxiproxy.mjs" }] },
  { role: "redis", binaries: ["/usr/bin/redis-server"], bundles: [] },
];

/** Small files every image gets: name resolution through Docker's DNS, a user database, a writable /tmp. */
const BASE_FILES: Record<string, string> = {
  "etc/nsswitch.conf": "hosts: files dns\n",
  "etc/passwd": "root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  "etc/group": "root:x:0:\nnogroup:x:65534:\n",
  "tmp/.keep": "",
};

/** What {@link buildImages} did for one image. */
export interface ImageBuildResult {
  role: ImageRole;
  image: string;
  /** `built`, or `skipped` when the image with the same content hash already exists. */
  action: "built" | "skipped";
  contentHash: string;
  durationMs: number;
}

async function docker(args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new HarnessError("HARNESS_ERR_DOCKER", `docker ${args.slice(0, 2).join(" ")} failed: ${stderr.trim() || (error as Error).message}`, { cause: error });
  }
}

/** The shared libraries `ldd` lists for `binary` (absolute paths, the loader included). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  const libraries = new Set<string>();
  for (const line of stdout.split("\n")) {
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match) libraries.add(match[1]!);
  }
  return [...libraries];
}

/** A host file that goes into the image at the same path (symlinks followed, so the image holds real files). */
interface HostFile {
  /** Path inside the image (and on the host, as the binary or `ldd` names it). */
  target: string;
  /** The real file behind it. */
  source: string;
}

async function copyInto(root: string, file: HostFile): Promise<void> {
  const target = join(root, file.target);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(file.source, target);
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(root, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/**
 * Hash of what an image is built from: every generated file of the context by content, and every host file by
 * path, size, mode and modification time (hashing the Node binary's 100 MB on every warm build would cost more
 * than the rest together; a package upgrade changes size and mtime).
 */
async function contentHash(context: string, hostFiles: readonly HostFile[]): Promise<string> {
  const hash = createHash("sha256");
  for (const file of await listFiles(context)) {
    const path = join(context, file);
    hash.update(`${file}\0${(await stat(path)).mode}\0`);
    hash.update(await readFile(path));
  }
  for (const file of hostFiles) {
    const info = await stat(file.source);
    hash.update(`host\0${file.target}\0${file.source}\0${info.size}\0${info.mode}\0${info.mtimeMs}\0`);
  }
  return hash.digest("hex").slice(0, 32);
}

/** What {@link stage} leaves to do: the host files to copy, and the labels of the optional libraries found. */
interface StagedContext {
  hostFiles: HostFile[];
  labels: Record<string, string>;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes the generated part of the build context (small files, bundles, Dockerfile); returns the host files still to copy. */
async function stage(recipe: ImageRecipe, context: string): Promise<StagedContext> {
  const rootfs = join(context, "rootfs");
  for (const [path, content] of Object.entries(BASE_FILES)) {
    await mkdir(dirname(join(rootfs, path)), { recursive: true });
    await writeFile(join(rootfs, path), content);
  }
  const hostFiles = new Map<string, HostFile>();
  const labels: Record<string, string> = {};
  const present: string[] = [];
  for (const library of recipe.optionalLibraries ?? []) {
    if (!(await exists(library.path))) continue;
    present.push(library.path);
    labels[library.label] = library.path;
  }
  for (const binary of [...recipe.binaries, ...present]) {
    for (const target of [binary, ...(await sharedLibraries(binary))]) hostFiles.set(target, { target, source: await realpath(target) });
  }
  for (const { entry, name } of recipe.bundles) await bundleEntry(entry, join(rootfs, "app", name));
  await copyFile(join(REPO_ROOT, "docker", recipe.role, "Dockerfile"), join(context, "Dockerfile"));
  return { hostFiles: [...hostFiles.values()].sort((a, b) => a.target.localeCompare(b.target)), labels };
}

/** The labels of a local image, or `undefined` when the image is not present. */
export async function localImageLabels(image: string): Promise<Record<string, string> | undefined> {
  try {
    const out = await docker(["image", "inspect", "--format", "{{ json .Config.Labels }}", image]);
    return (JSON.parse(out) as Record<string, string> | null) ?? {};
  } catch {
    return undefined;
  }
}

/** The content-hash label of a local image, or `undefined` when the image is not present. */
export async function localImageHash(image: string): Promise<string | undefined> {
  const labels = await localImageLabels(image);
  return labels === undefined ? undefined : (labels[LABELS.contentHash] ?? "");
}

/** Whether `image` is in the local image store. */
export async function imageExists(image: string): Promise<boolean> {
  return (await localImageHash(image)) !== undefined;
}

/**
 * Builds every image of {@link IMAGES} offline (FROM scratch over a staged root filesystem of the host's own
 * binaries and their shared libraries; nothing is pulled). An image whose content-hash label equals the hash
 * of what it would be built from is skipped, so a warm build only bundles and hashes.
 */
export async function buildImages(options: { roles?: readonly ImageRole[]; force?: boolean } = {}): Promise<ImageBuildResult[]> {
  const results: ImageBuildResult[] = [];
  const roles = options.roles ?? RECIPES.map((recipe) => recipe.role);
  for (const recipe of RECIPES.filter((r) => roles.includes(r.role))) {
    const t0 = performance.now();
    const image = IMAGES[recipe.role];
    const context = await makeTempDir(`image-${recipe.role}`);
    try {
      // The hash covers the optional libraries through the host files, so installing or removing one rebuilds.
      const { hostFiles, labels } = await stage(recipe, context);
      const hash = await contentHash(context, hostFiles);
      const present = await localImageHash(image);
      if (present === hash && !options.force) {
        results.push({ role: recipe.role, image, action: "skipped", contentHash: hash, durationMs: Math.round(performance.now() - t0) });
        continue;
      }
      log("build", { image, hash });
      for (const file of hostFiles) await copyInto(join(context, "rootfs"), file);
      const labelArgs = Object.entries({ ...labels, [LABELS.contentHash]: hash, [LABELS.managed]: "1" }).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
      await docker(["build", "--quiet", "--pull=false", ...labelArgs, "-t", image, context], DOCKER_BUILD_TIMEOUT_MS);
      results.push({ role: recipe.role, image, action: "built", contentHash: hash, durationMs: Math.round(performance.now() - t0) });
    } finally {
      await removeTempDir(context);
    }
  }
  return results;
}

/** Which proxy image a topology runs. */
export interface ToxiproxyImageChoice {
  image: string;
  /** `real`: Shopify's Toxiproxy found in the local image store; `compatible`: the project's own server. */
  kind: "real" | "compatible";
}

/** The proxy image to use: a real Toxiproxy v2 image when one is present locally (nothing is pulled), else the compatible one. */
export async function chooseToxiproxyImage(): Promise<ToxiproxyImageChoice> {
  for (const image of REAL_TOXIPROXY_IMAGES) if (await imageExists(image)) return { image, kind: "real" };
  return { image: IMAGES.toxiproxy, kind: "compatible" };
}
