import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { spawnableSut } from "./gateway-bundle.js";
import { REFERENCE_GATEWAY_NODE_FLAGS, REFERENCE_SUT, resolveSutDefinition } from "./sut.js";

describe("spawnableSut", () => {
  it("runs the reference gateway from a cached, self-contained bundle with the same Node flags", async () => {
    const reference = resolveSutDefinition(REFERENCE_SUT);
    const spawned = await spawnableSut(reference);
    const bundle = spawned.args.at(-1)!;
    expect(spawned.args).toEqual([...REFERENCE_GATEWAY_NODE_FLAGS, bundle]);
    expect(bundle).toMatch(/reference-gateway-[0-9a-f]{16}\.mjs$/);
    expect(existsSync(bundle)).toBe(true);
    // ioredis and ws inlined: the bundle imports no package (only node: built-ins and ws's optional helpers).
    const imports = [...readFileSync(bundle, "utf8").matchAll(/^import [^;]* from ["']([^"']+)["']/gm)].map((m) => m[1]!);
    expect(imports).toContain("node:module");
    expect(imports.filter((name) => !name.startsWith("node:") && !["bufferutil", "utf-8-validate"].includes(name))).toEqual([]);
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
