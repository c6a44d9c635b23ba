import { describe, expect, it } from "vitest";
import { Fault } from "../faults/fault.js";
import { createRuntime, isRuntimeAvailable } from "../runtime/create-runtime.js";
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
  it.runIf(!isRuntimeAvailable("containers"))("should refuse a runtime kind without an implementation with HARNESS_ERR_UNSUPPORTED", () => {
    expect(() => createRuntime("containers", { runId: "t" })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_UNSUPPORTED" }));
  });
});
