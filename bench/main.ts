/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts. Each benchmark measures its baseline in the same run,
 * prints ratios, and ends with one JSON object on its last line.
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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
const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { run(args: string[]): Promise<void> };
await module.run(rest);
