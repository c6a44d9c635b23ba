/**
 * `npm run images [-- --force]`: builds every container image of the topology offline (no registry is
 * reached) and prints what it did per image; exit 2 when no Docker engine answers.
 */
import { buildImages } from "./image-build.js";
import { requireDockerEngine } from "./docker-engine.js";

const force = process.argv.includes("--force");
try {
  await requireDockerEngine();
  const t0 = performance.now();
  const results = await buildImages({ force });
  for (const r of results) process.stdout.write(`${r.image.padEnd(44)} ${r.action.padEnd(8)} ${String(r.durationMs).padStart(6)} ms  hash ${r.contentHash}\n`);
  process.stdout.write(`images: ${results.length} in ${Math.round(performance.now() - t0)} ms\n`);
} catch (error) {
  const code = (error as { code?: string }).code;
  process.stderr.write(`error${code ? ` ${code}` : ""}: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
