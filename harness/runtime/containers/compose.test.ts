import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../sut.js";
import { COMPOSE_FILES, renderCompose, renderComposeProxies } from "./compose.js";

describe("docker-compose.yml", () => {
  it("should equal what topology.ts renders (regenerate with write-compose.ts)", async () => {
    expect(await readFile(join(REPO_ROOT, COMPOSE_FILES.compose), "utf8")).toBe(renderCompose());
    expect(await readFile(join(REPO_ROOT, COMPOSE_FILES.proxies), "utf8")).toBe(renderComposeProxies());
  });

  it("should publish every port on 127.0.0.1 only", () => {
    const published = renderCompose().split("\n").filter((line) => /^\s+- "\d|^\s+- "127/.test(line) && !line.includes(".json"));
    expect(published.length).toBe(5);
    for (const line of published) expect(line).toMatch(/- "127\.0\.0\.1:\d+:\d+"$/);
  });
});
