/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts. Each benchmark measures its baseline in the same run,
 * prints ratios, and ends with one JSON object on its last line. A benchmark that judges floors (registry, gateway,
 * toxiproxy, fleet with Artillery, recovery) exits with 1 when one is missed.
 *
 * Every process a benchmark starts carries the harness's process tags with this process as owner (set here in the
 * environment it passes on), so that Ctrl-C, SIGTERM or any exit kills them, and the processes those own in turn
 * (the gateways and Redis of a scenario CLI a benchmark runs), and removes the network namespaces it made; a bench
 * that is SIGKILLed leaves them to the next start-up sweep.
 *
 * Exit codes: 0 done (floors met where judged), 1 a floor missed or the benchmark failed, 2 bad arguments (an unknown
 * benchmark, or flags its own parser refused: nothing was started).
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { HarnessError } from "../harness/errors.js";
import { processTags } from "../harness/runtime/process-tags.js";
import { installOwnerCleanup } from "../harness/runtime/teardown.js";

const here = dirname(fileURLToPath(import.meta.url));
const available = (await readdir(here))
  .filter((file) => file.endsWith(".ts") && file !== "main.ts" && !file.endsWith(".test.ts") && !file.startsWith("_"))
  .map((file) => file.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\nbenchmarks: ${available.join(", ") || "(none yet)"}\n`);
  process.exit(2);
}
const runId = `bench-${name}-${Date.now().toString(36)}`;
Object.assign(process.env, processTags(runId));
installOwnerCleanup((signal, killed) => process.stderr.write(`\n${signal}: benchmark ${name} stopped; killed ${killed} process(es) it started\n`));
const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { run(args: string[]): Promise<void> };
try {
  await module.run(rest);
} catch (error) {
  // Bad flags: the benchmark's own message and exit code 2, as for an unknown benchmark (1 means a floor missed).
  if (!(error instanceof HarnessError && error.code === "HARNESS_ERR_USAGE")) throw error;
  process.stderr.write(`npm run bench -- ${name}: ${error.message}\n`);
  process.exitCode = 2;
}
