import { describe, expect, it } from "vitest";
import { FAILPOINTS } from "../../src/gateway/failpoints.js";
import { planMatrix, selectDefects, selectScenarios } from "./gate-plan.js";

const SCENARIOS = ["deploy", "flood", "lookup", "tenants", "ttl"];

describe("gate plan", () => {
  it("should take every failpoint of the catalogue by default, in catalogue order", () => {
    expect(selectDefects(undefined).map((d) => d.name)).toEqual(FAILPOINTS.map((f) => f.name));
    expect(selectDefects(["no-reap", "dup-remote"]).map((d) => d.name)).toEqual(["dup-remote", "no-reap"]);
  });

  it("should refuse unknown defects and scenarios with HARNESS_ERR_USAGE, naming the known ones", () => {
    expect(() => selectDefects(["no-such"])).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE", message: expect.stringContaining("known: no-unregister") }));
    expect(() => selectScenarios(["lookup", "nope"], SCENARIOS)).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE", message: expect.stringContaining('"nope"') }));
    expect(selectScenarios(["ttl", "lookup"], SCENARIOS)).toEqual(["lookup", "ttl"]);
  });

  it("should try a defect's caughtBy scenarios first, then every other one, skipping unselected ones", () => {
    const [noReap] = selectDefects(["no-reap"]);
    expect(planMatrix([noReap!], SCENARIOS)[0]!.scenarios).toEqual(["ttl", "deploy", "flood", "lookup", "tenants"]);
    const [dup] = selectDefects(["dup-remote"]);
    expect(planMatrix([dup!], ["deploy", "tenants"])[0]!.scenarios).toEqual(["tenants", "deploy"]);
  });

  it("should name only existing scenarios in caughtBy", async () => {
    const { listScenarioNames } = await import("../cli/scenarios.js");
    const names = await listScenarioNames();
    for (const failpoint of FAILPOINTS) for (const name of failpoint.caughtBy) expect(names, failpoint.name).toContain(name);
  });
});
