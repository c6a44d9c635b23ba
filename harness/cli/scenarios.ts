import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { HarnessError } from "../errors.js";
import { REPO_ROOT } from "../runtime/sut.js";
import type { ScenarioDefinition } from "../scenario/define-scenario.js";

/** The folder scenario files live in: one file per scenario, named as on the CLI. */
export const SCENARIOS_DIR = join(REPO_ROOT, "scenarios");

/** Names of the available scenarios (file names without `.ts`), sorted. */
export async function listScenarioNames(dir: string = SCENARIOS_DIR): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return files
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.endsWith(".d.ts") && !file.startsWith("_"))
    .map((file) => file.slice(0, -3))
    .sort();
}

/** Loads `scenarios/<name>.ts` (its default export, made with defineScenario()). */
export async function loadScenario(name: string, dir: string = SCENARIOS_DIR): Promise<ScenarioDefinition> {
  const names = await listScenarioNames(dir);
  if (!names.includes(name)) throw new HarnessError("HARNESS_ERR_USAGE", `unknown scenario ${JSON.stringify(name)}; available: ${names.join(", ") || "(none)"}`);
  const module = (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as { default?: ScenarioDefinition };
  const scenario = module.default;
  if (!scenario || typeof scenario.steps !== "function") throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `scenarios/${name}.ts must export default defineScenario({...})`);
  if (scenario.name !== name) throw new HarnessError("HARNESS_ERR_INVALID_SCENARIO", `scenarios/${name}.ts defines name ${JSON.stringify(scenario.name)}; the name must equal the file name`);
  return scenario;
}
