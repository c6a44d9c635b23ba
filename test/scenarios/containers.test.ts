/**
 * Scenarios on `--runtime containers` (the engine the CLI uses, in-process): `restart` and `partition` from
 * scenarios/, and the containers-only `netsplit` fixture (network partition by disconnect, freeze by docker
 * pause). Each must pass against the reference gateway's image and leave no container or network of its run.
 * Needs a Docker engine and the images (.ci/run starts one and runs `npm run images`); a missing engine fails.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RunResult } from "../../harness/report/run-result.js";
import { listLabelledObjects } from "../../harness/runtime/containers/container-sweep.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import type { ScenarioDefinition } from "../../harness/scenario/define-scenario.js";
import { runScenario } from "../../harness/scenario/engine.js";
import partition from "../../scenarios/partition.js";
import restart from "../../scenarios/restart.js";
import netsplit from "../fixtures/netsplit-scenario.js";
import { expectPassed, faultEnds } from "../helpers/scenario-run.js";

const SEED = 20_261_203;

async function runOn(runtime: "containers" | "local", scenario: ScenarioDefinition): Promise<RunResult> {
  const out = await mkdtemp(join(tmpdir(), `traffic-cop-containers-${scenario.name}-`));
  onTestFinished(() => rm(out, { recursive: true, force: true }));
  const { result } = await runScenario({ scenario, seed: SEED, outDir: out, runtime });
  expect(await listLabelledObjects(result.run_id)).toEqual([]);
  expect((await findLeftovers({ runId: result.run_id })).processes).toEqual([]);
  return result;
}

describe("scenarios on --runtime containers", { timeout: 120_000 }, () => {
  it("should pass restart: kill -9 and SIGTERM drain of gateway containers, clients resume on the same ports", async () => {
    const result = await runOn("containers", restart);
    expectPassed(restart, result);
    expect(result.topology).toMatchObject({ runtime: "containers", toxiproxy_image: { kind: expect.stringMatching(/^(real|compatible)$/) } });
    expect(faultEnds(result, "restart_instance").map((e) => e.ok)).toEqual([true, true]);
  });

  it("should pass partition: Redis cut off through the proxy in three forms, after a staggered outage that met its window", async () => {
    const result = await runOn("containers", partition);
    expectPassed(partition, result);
    expect(faultEnds(result, "partition").map((e) => e.description)).toEqual([
      expect.stringContaining("(disable, staggered,"),
      expect.stringContaining("(disable,"),
      expect.stringContaining("(blackhole,"),
      expect.stringContaining("(reset,"),
    ]);
    expect(faultEnds(result, "partition")[0]?.detail).toMatchObject({ window_met: true });
  });

  it("should pass netsplit: a network disconnect below the proxy and a docker pause", async () => {
    const result = await runOn("containers", netsplit);
    expectPassed(netsplit, result);
    expect(faultEnds(result, "partition")[0]?.description).toContain("(network,");
    expect(faultEnds(result, "freeze_instance")).toHaveLength(1);
  });

  it("should refuse netsplit on the local runtime before starting anything", async () => {
    const result = await runOn("local", netsplit);
    expect(result).toMatchObject({ status: "error", exit_code: 2, error: { code: "HARNESS_ERR_UNSUPPORTED" } });
    expect(result.error?.message).toContain("--runtime containers");
    expect(result.topology).toEqual({});
  });
});
