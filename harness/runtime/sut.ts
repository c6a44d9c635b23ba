import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_KEY_PREFIX } from "../common/key-schema.js";
import { HarnessError } from "../errors.js";

/** The repository root (the reference SUT runs from here). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A system under test: how to start one gateway instance as a process (`command`, the local runtime) or as a
 * container (`image`, the containers runtime), and where its probes live. The harness talks to it only through the
 * wire protocol, the HTTP API, the Redis key schema and process control; see the README's "System under test
 * contract".
 *
 * `command`, `args` and `env` values may reference the harness's variables as `${NAME}` (e.g. `"${PORT}"`,
 * `"${REDIS_URL}"`), so a service with other variable names can be mapped without a wrapper script.
 * `command` may be `"${NODE}"` for the Node binary that runs the harness.
 */
export interface SutDefinition {
  /** Shown in reports. */
  name: string;
  /** Executable to spawn (no shell), for the local runtime. Required unless `image` is given. */
  command?: string;
  /**
   * Docker image of one instance, for the containers runtime: already in the engine (built or `docker load`ed; a
   * run never pulls). It runs with its own entry point and command; the harness's variables and `env` are its
   * environment. Required there unless the SUT is the reference gateway (whose image `npm run images` builds).
   */
  image?: string;
  /** Arguments of `command` (not of `image`). @default [] */
  args?: string[];
  /** Working directory; relative paths are resolved against the SUT file's folder. @default the repository root */
  cwd?: string;
  /** Extra environment, applied after the harness's variables (values may use `${NAME}`). @default {} */
  env?: Record<string, string>;
  /** Readiness probe path: 200 only while Redis is reachable and connections are accepted. @default "/readyz" */
  readyPath?: string;
  /** Prometheus metrics path scraped every second; `null` when the SUT has none. @default "/metrics" */
  metricsPath?: string | null;
  /** WebSocket path. @default "/ws" */
  wsPath?: string;
  /** Prefix of the Redis keys (the schema of docs/design.md under another prefix). @default "traffic_cop" */
  keyPrefix?: string;
  /** How long an instance may take from spawn to ready, in ms. @default 20000 */
  startupTimeoutMs?: number;
}

/** A {@link SutDefinition} with every default filled in; frozen. */
export interface ResolvedSutDefinition {
  readonly name: string;
  /** `null`: the SUT runs as a container only. */
  readonly command: string | null;
  /** `null`: the SUT runs as a process only (or is the reference gateway, whose image the harness builds). */
  readonly image: string | null;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly readyPath: string;
  readonly metricsPath: string | null;
  readonly wsPath: string;
  readonly keyPrefix: string;
  readonly startupTimeoutMs: number;
}

/** Defaults of {@link SutDefinition}. */
export const DEFAULT_SUT_OPTIONS = Object.freeze({
  args: [] as string[],
  readyPath: "/readyz",
  metricsPath: "/metrics",
  wsPath: "/ws",
  keyPrefix: DEFAULT_KEY_PREFIX,
  startupTimeoutMs: 20_000,
});

/**
 * Node.js flags the reference gateway runs with (here, in `npm run gateway`, in its container image and in the
 * benchmarks), ahead of the script on the `node` command line.
 *
 * `--max-semi-space-size=4` caps each of V8's young-generation semi-spaces at 4 MB (Node 20 lets them grow to
 * 16 MB). A connect burst makes a few KB of short-lived garbage per connection (token check, query parsing, the
 * registry write and its reply); with the default cap the young generation grows to absorb it and keeps that
 * memory, which was most of the gateway's resident memory per idle connection (`npm run bench -- gateway`: about
 * 15 KB per connection, of which about 3.5 KB stays with the connection itself). With 4 MB it is about 6-8 KB, on
 * par with a bare `ws` server, for more and smaller scavenges (CPU per connect did not rise measurably).
 */
export const REFERENCE_GATEWAY_NODE_FLAGS: readonly string[] = Object.freeze(["--max-semi-space-size=4"]);

/**
 * The reference gateway of this repository (`src/gateway/main.ts` under tsx). The local runtime spawns it from an
 * esbuild bundle of the same sources instead (`spawnableSut` in gateway-bundle.ts), and falls back to this
 * command when esbuild cannot build one.
 */
export const REFERENCE_SUT: SutDefinition = Object.freeze({
  name: "reference",
  command: "${NODE}",
  args: [...REFERENCE_GATEWAY_NODE_FLAGS, "--import", "tsx", "src/gateway/main.ts"],
  cwd: REPO_ROOT,
});

const KNOWN_FIELDS = new Set(["name", "command", "image", "args", "cwd", "env", "readyPath", "metricsPath", "wsPath", "keyPrefix", "startupTimeoutMs"]);

function invalid(message: string): HarnessError {
  return new HarnessError("HARNESS_ERR_INVALID_SUT", message);
}

/** Validates a SUT definition and fills in defaults. `baseDir` resolves a relative `cwd`. */
export function resolveSutDefinition(definition: unknown, baseDir: string = REPO_ROOT): ResolvedSutDefinition {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) throw invalid("a SUT definition must be a JSON object with at least a `command` or an `image`");
  const raw = definition as Record<string, unknown>;
  const unknown = Object.keys(raw).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) throw invalid(`unknown SUT field(s) ${unknown.join(", ")}; known: ${[...KNOWN_FIELDS].join(", ")}`);
  const string = (key: string, fallback?: string): string => {
    const value = raw[key] ?? fallback;
    if (typeof value !== "string" || value.length === 0) throw invalid(`SUT field \`${key}\` must be a non-empty string`);
    return value;
  };
  const path = (key: string, fallback: string): string => {
    const value = string(key, fallback);
    if (!value.startsWith("/")) throw invalid(`SUT field \`${key}\` must start with "/" (got ${JSON.stringify(value)})`);
    return value;
  };
  if (raw.command === undefined && raw.image === undefined) {
    throw invalid("a SUT definition needs a `command` (a process, for --runtime local) or an `image` (a Docker image, for --runtime containers), or both");
  }
  const image = raw.image === undefined ? null : string("image");
  if (image !== null && /\s/.test(image)) throw invalid(`SUT field \`image\` must be an image reference without spaces (got ${JSON.stringify(image)})`);
  const args = raw.args ?? [];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string")) throw invalid("SUT field `args` must be an array of strings");
  const env = raw.env ?? {};
  if (typeof env !== "object" || env === null || Array.isArray(env) || !Object.values(env).every((v) => typeof v === "string")) {
    throw invalid("SUT field `env` must be an object of string values");
  }
  const startupTimeoutMs = raw.startupTimeoutMs ?? DEFAULT_SUT_OPTIONS.startupTimeoutMs;
  if (typeof startupTimeoutMs !== "number" || !Number.isFinite(startupTimeoutMs) || startupTimeoutMs <= 0) throw invalid("SUT field `startupTimeoutMs` must be a positive number of milliseconds");
  const metricsPath = raw.metricsPath === null ? null : path("metricsPath", DEFAULT_SUT_OPTIONS.metricsPath);
  const cwd = typeof raw.cwd === "string" ? (isAbsolute(raw.cwd) ? raw.cwd : resolve(baseDir, raw.cwd)) : REPO_ROOT;
  if (raw.cwd !== undefined && typeof raw.cwd !== "string") throw invalid("SUT field `cwd` must be a string");
  const keyPrefix = string("keyPrefix", DEFAULT_SUT_OPTIONS.keyPrefix);
  if (/[*?[\]\s]/.test(keyPrefix)) throw invalid(`SUT field \`keyPrefix\` must not contain glob characters or spaces (got ${JSON.stringify(keyPrefix)})`);
  return Object.freeze({
    name: string("name", "custom"),
    command: raw.command === undefined ? null : string("command"),
    image,
    args: Object.freeze([...(args as string[])]),
    cwd,
    env: Object.freeze({ ...(env as Record<string, string>) }),
    readyPath: path("readyPath", DEFAULT_SUT_OPTIONS.readyPath),
    metricsPath,
    wsPath: path("wsPath", DEFAULT_SUT_OPTIONS.wsPath),
    keyPrefix,
    startupTimeoutMs,
  });
}

/** Reads and validates a SUT definition file (JSON). Relative `cwd` values are resolved against the file's folder. */
export async function loadSutFile(file: string): Promise<ResolvedSutDefinition> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new HarnessError("HARNESS_ERR_INVALID_SUT", `cannot read SUT file ${file}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HarnessError("HARNESS_ERR_INVALID_SUT", `SUT file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return resolveSutDefinition(parsed, dirname(resolve(file)));
}

/** Replaces `${NAME}` in `text` with `vars[NAME]`; unknown names are left as they are. */
export function expandVariables(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => vars[name] ?? whole);
}
