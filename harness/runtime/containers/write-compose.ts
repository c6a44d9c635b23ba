/** `npx tsx harness/runtime/containers/write-compose.ts`: rewrites docker-compose.yml and its proxy list from topology.ts. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../sut.js";
import { COMPOSE_FILES, renderCompose, renderComposeProxies } from "./compose.js";

for (const [path, text] of [
  [COMPOSE_FILES.compose, renderCompose()],
  [COMPOSE_FILES.proxies, renderComposeProxies()],
] as const) {
  await mkdir(dirname(join(REPO_ROOT, path)), { recursive: true });
  await writeFile(join(REPO_ROOT, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
