import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { describe, expect, it } from "vitest";
import { BUNDLE_DIR } from "../common/child-entry.js";
import { spawnableSut } from "./gateway-bundle.js";
import { REFERENCE_GATEWAY_NODE_FLAGS, REFERENCE_SUT, resolveSutDefinition } from "./sut.js";

describe("spawnableSut", () => {
  it("runs the reference gateway from a cached, self-contained bundle with the same Node flags, through the code-cache loader", async () => {
    const reference = resolveSutDefinition(REFERENCE_SUT);
    const spawned = await spawnableSut(reference);
    const bundle = spawned.args.at(-1)!;
    expect(spawned.args).toEqual([...REFERENCE_GATEWAY_NODE_FLAGS, expect.stringMatching(/\/harness\/common\/code-cache-loader\.cjs$/), BUNDLE_DIR, bundle]);
    expect(bundle).toMatch(/reference-gateway-[0-9a-f]{16}\.cjs$/);
    expect(existsSync(bundle)).toBe(true);
    // ioredis and ws inlined: the bundle requires no package (only Node's built-ins and ws's optional helpers).
    const code = readFileSync(bundle, "utf8");
    const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(required).toContain("node:url");
    expect(required.filter((name) => !builtinModules.includes(name.replace(/^node:/, "")) && !["bufferutil", "utf-8-validate"].includes(name))).toEqual([]);
    // Strict, as the ES modules it is made of.
    expect(code.startsWith('"use strict";')).toBe(true);
    expect({ ...spawned, args: reference.args }).toEqual(reference);
    // Once per process: the same file again.
    expect((await spawnableSut(reference)).args.at(-1)).toBe(bundle);
  });

  it("leaves any other SUT as it is, even one that differs from the reference only in its flags", async () => {
    const other = resolveSutDefinition({ ...REFERENCE_SUT, args: ["--import", "tsx", "src/gateway/main.ts"] });
    expect(await spawnableSut(other)).toBe(other);
    const script = resolveSutDefinition({ command: "/bin/sh", args: ["-c", "exec node gw.js"] });
    expect(await spawnableSut(script)).toBe(script);
  });
});
