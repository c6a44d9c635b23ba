import { describe, expect, it } from "vitest";
import { Fault } from "../faults/fault.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { assertRunnable } from "./run-setup.js";
import type { PlannedStep } from "./step.js";

const REDIS_RESTART: PlannedStep[] = [{ kind: "fault", fault: { ...Fault.redisRestart(), targets: [] }, background: false }];

describe("assertRunnable", () => {
  it("should accept a plan the runtime can run", () => {
    expect(() => assertRunnable(createRuntime("local", { runId: "t", redis: "standalone" }), "standalone", REDIS_RESTART)).not.toThrow();
    expect(() => assertRunnable(createRuntime("local", { runId: "t", redis: "cluster" }), "cluster", [])).not.toThrow();
  });

  it("should refuse, before anything starts, a fault that needs a capability the runtime lacks", () => {
    const runtime = createRuntime("local", { runId: "t", redis: "cluster" });
    expect(runtime.capabilities.redisRestart).toBe(false);
    expect(() => assertRunnable(runtime, "cluster", REDIS_RESTART)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED", message: expect.stringContaining("redisRestart") }));
  });
});

describe("createRuntime", () => {
  it("should refuse on local, before anything starts, a network partition below the proxy, and say to use containers", () => {
    const partition: PlannedStep[] = [{ kind: "fault", fault: { ...Fault.partition({ form: "network", durationMs: 1_000 }), targets: ["gw-1"] }, background: false }];
    expect(() => assertRunnable(createRuntime("local", { runId: "t" }), "standalone", partition)).toThrow(
      expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED", message: expect.stringContaining("--runtime containers") }),
    );
    expect(() => assertRunnable(createRuntime("containers", { runId: "t" }), "standalone", partition)).not.toThrow();
  });

  it("should refuse a Redis Cluster on containers when the runtime is made, before any container starts", () => {
    expect(() => createRuntime("containers", { runId: "t", redis: "cluster" })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED" }));
  });
});
