import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FAILPOINTS, GATEWAY_DEFECTS, NO_FAILPOINTS, createFailpoints } from "./failpoints.js";
import { gatewayOptionsFromEnv } from "./gateway-options.js";

/** The rows of docs/protocol.md's "Negative controls" table: defect, behaviour, check. */
function documentedDefects(): string[][] {
  const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Negative controls"));
  return [...section.matchAll(/^\| `([a-z0-9-]+)` \| (.+?) \| (.+?) \|$/gm)].map((match) => [match[1]!, match[2]!, match[3]!.replace(/`/g, "")]);
}

describe("failpoints", () => {
  it("should list exactly the defects of docs/protocol.md, in its order, with its behaviour and check", () => {
    const documented = documentedDefects();
    expect(documented.length).toBeGreaterThan(0);
    expect(FAILPOINTS.map((failpoint) => [failpoint.name, failpoint.behaviour, failpoint.mustFail])).toEqual(documented);
    expect(GATEWAY_DEFECTS).toEqual(documented.map(([name]) => name));
  });

  it("should be asked for by the one unit the catalogue names, and nowhere else", () => {
    const sources = readdirSync(new URL(".", import.meta.url)).filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && file !== "failpoints.ts");
    for (const failpoint of FAILPOINTS) {
      const askers = sources.filter((file) => readFileSync(new URL(file, import.meta.url), "utf8").includes(`enabled("${failpoint.name}")`));
      expect(askers, failpoint.name).toEqual([failpoint.file]);
    }
  });

  it("should switch nothing on by default", () => {
    for (const name of GATEWAY_DEFECTS) expect(NO_FAILPOINTS.enabled(name)).toBe(false);
    expect(createFailpoints([])).toBe(NO_FAILPOINTS);
  });

  it("should switch on exactly the named failpoints", () => {
    const policy = createFailpoints(["drop-remote", "no-resume"]);
    expect(GATEWAY_DEFECTS.filter((name) => policy.enabled(name))).toEqual(["no-resume", "drop-remote"]);
  });

  it("should be built from TRAFFIC_COP_DEFECTS, refusing unknown names as a configuration error", () => {
    const options = gatewayOptionsFromEnv({ AUTH_SECRET: "s", TRAFFIC_COP_DEFECTS: " no-heartbeat , no-unregister" });
    const policy = createFailpoints(options.defects);
    expect(GATEWAY_DEFECTS.filter((name) => policy.enabled(name))).toEqual(["no-unregister", "no-heartbeat"]);
    expect(() => gatewayOptionsFromEnv({ AUTH_SECRET: "s", TRAFFIC_COP_DEFECTS: "no-resume,bogus" })).toThrow(
      expect.objectContaining({ code: "GATEWAY_ERR_INVALID_CONFIG", message: expect.stringContaining('unknown defect "bogus"') }),
    );
    expect(() => createFailpoints(["bogus" as never])).toThrow(TypeError);
  });
});
