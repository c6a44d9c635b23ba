import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { createKeySchema } from "../common/key-schema.js";
import { ContainerRuntime } from "./container-runtime.js";
import { LocalRuntime } from "./local-runtime.js";
import { expandVariables, loadSutFile, resolveSutDefinition } from "./sut.js";

describe("SUT definitions", () => {
  it("should fill defaults and resolve cwd against the file's folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sut-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "sut.json"), JSON.stringify({ name: "x", command: "bin/gw", cwd: "svc", env: { LISTEN: "${HOST}:${PORT}" } }));
    const sut = await loadSutFile(join(dir, "sut.json"));
    expect(sut).toMatchObject({ name: "x", command: "bin/gw", cwd: join(dir, "svc"), readyPath: "/readyz", metricsPath: "/metrics", wsPath: "/ws", keyPrefix: "traffic_cop", startupTimeoutMs: 20_000 });
    expect(expandVariables(sut.env.LISTEN!, { HOST: "127.0.0.1", PORT: "9" })).toBe("127.0.0.1:9");
  });

  it("should take an image instead of a command, or both", () => {
    expect(resolveSutDefinition({ name: "img", image: "acme/gateway:1" })).toMatchObject({ command: null, image: "acme/gateway:1", args: [] });
    expect(resolveSutDefinition({ command: "bin/gw", image: "acme/gateway:1" })).toMatchObject({ command: "bin/gw", image: "acme/gateway:1" });
    expect(resolveSutDefinition({ command: "bin/gw" })).toMatchObject({ image: null });
    expect(() => resolveSutDefinition({ name: "neither" })).toThrow(/needs a `command` .* or an `image`/);
  });

  it("should be refused, before anything starts, by a runtime that cannot run it, naming the one that can", () => {
    const imageOnly = resolveSutDefinition({ name: "img", image: "acme/gateway:1" });
    const processOnly = resolveSutDefinition({ name: "proc", command: "/opt/gw/bin/server" });
    expect(() => new LocalRuntime({ runId: "refuse", sut: imageOnly })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED", message: expect.stringContaining("--runtime containers") }));
    expect(() => new ContainerRuntime({ runId: "refuse", sut: processOnly })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED", message: expect.stringContaining('"image"') }));
    expect(() => new ContainerRuntime({ runId: "accept", sut: imageOnly })).not.toThrow();
    expect(() => new LocalRuntime({ runId: "accept", sut: processOnly })).not.toThrow();
  });

  const BAD = [{ name: "neither" }, { image: "" }, { image: "acme/gateway:1 --privileged" }, { image: 7 }, { command: "" }, { command: "x", args: [1] }, { command: "x", readyPath: "readyz" }, { command: "x", surprise: true }, { command: "x", keyPrefix: "a*" }, [], null];
  for (const definition of BAD) {
    it(`should reject ${JSON.stringify(definition)} with HARNESS_ERR_INVALID_SUT`, () => {
      expect(() => resolveSutDefinition(definition)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_SUT" }));
    });
  }

  it("should reject a missing or malformed file", async () => {
    await expect(loadSutFile("/nonexistent/sut.json")).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_SUT" });
  });
});

describe("key schema", () => {
  it("should build and parse the keys of docs/design.md under any prefix", () => {
    const keys = createKeySchema("acme");
    expect(keys.connection("s1", "w1")).toBe("acme:session:s1:websocket:w1");
    expect(keys.parseConnection("acme:session:s1:websocket:w1")).toEqual({ sessionId: "s1", websocketId: "w1" });
    expect(keys.parseConnection("acme:session:{s1}:websocket:w1")).toEqual({ sessionId: "s1", websocketId: "w1" });
    expect(keys.parseConnection("acme:session:s1:websockets")).toBeNull();
    expect(keys.parseMiddle(keys.pillarIndex("p"), "pillar")).toBe("p");
    expect(keys.parseMiddle(keys.reverse("w1"), "websocket")).toBe("w1");
    expect(keys.parseMiddle(keys.sessionIndex("s1"), "session")).toBe("s1");
  });
});
