/**
 * Scenarios on `--runtime containers` (the engine the CLI uses, in-process): `restart` and `partition` from
 * scenarios/, and the containers-only `netsplit` fixture (network partition by disconnect, freeze by docker
 * pause). Each must pass against the reference gateway's image and leave no container or network of its run.
 * A `--sut` definition with an image of its own runs that image: `lookup` must fail it when it drops remote routes.
 * Needs a Docker engine and the images (.ci/run starts one and runs `npm run images`); a missing engine fails.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RunResult } from "../../harness/report/run-result.js";
import { listLabelledObjects } from "../../harness/runtime/containers/container-sweep.js";
import { IMAGES } from "../../harness/runtime/containers/images.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import type { ScenarioDefinition } from "../../harness/scenario/define-scenario.js";
import { resolveSutDefinition, type ResolvedSutDefinition } from "../../harness/runtime/sut.js";
import { runScenario } from "../../harness/scenario/engine.js";
import lookup from "../../scenarios/lookup.js";
import partition from "../../scenarios/partition.js";
import restart from "../../scenarios/restart.js";
import netsplit from "../fixtures/netsplit-scenario.js";
import { expectFailedBy, expectPassed, faultEnds } from "../helpers/scenario-run.js";

const SEED = 20_261_203;

async function runOn(runtime: "containers" | "local", scenario: ScenarioDefinition, sut?: ResolvedSutDefinition): Promise<RunResult & { dir: string }> {
  const out = await mkdtemp(join(tmpdir(), `traffic-cop-containers-${scenario.name}-`));
  onTestFinished(() => rm(out, { recursive: true, force: true }));
  const { result, reportDir } = await runScenario({ scenario, seed: SEED, outDir: out, runtime, ...(sut ? { sut } : {}) });
  expect(await listLabelledObjects(result.run_id)).toEqual([]);
  expect((await findLeftovers({ runId: result.run_id })).processes).toEqual([]);
  return { ...result, dir: reportDir };
}

describe("scenarios on --runtime containers", { timeout: 120_000 }, () => {
  it("should pass restart: kill -9 and SIGTERM drain of gateway containers, clients resume on the same ports", async () => {
    const result = await runOn("containers", restart);
    expectPassed(restart, result);
    expect(result.topology).toMatchObject({ runtime: "containers", toxiproxy_image: { kind: expect.stringMatching(/^(real|compatible)$/) } });
    expect(faultEnds(result, "restart_instance").map((e) => e.ok)).toEqual([true, true]);
    // What each gateway container printed (its logs, followed across its restarts) is beside the report.
    const log = await readFile(join(result.dir, "instances", "gw-1.log"), "utf8");
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stdout \{.*"event":"listening"/m);
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

  it("should run a SUT's own image, and fail lookup when that gateway drops remote routes", async () => {
    // A gateway image of its own, broken inside (only this image drops routes to another instance's clients): a run
    // that started the reference image instead would pass. (How a SUT's env is composed: topology.test.ts.)
    const image = `traffic-cop-test/broken-gateway:${process.pid}`;
    const build = promisify(execFile)("docker", ["build", "-q", "-t", image, "-"]);
    build.child.stdin!.end(`FROM ${IMAGES.gateway}\nENV TRAFFIC_COP_DEFECTS=drop-remote\n`);
    await build;
    onTestFinished(() => promisify(execFile)("docker", ["rmi", image]).then(() => undefined));
    const result = await runOn("containers", lookup, resolveSutDefinition({ name: "broken-image", image }));
    expect(result.topology).toMatchObject({ runtime: "containers", gateway_image: image });
    expectFailedBy(result, "cross-instance-lookup");
  });

  it("should refuse netsplit on the local runtime before starting anything", async () => {
    const result = await runOn("local", netsplit);
    expect(result).toMatchObject({ status: "error", exit_code: 2, error: { code: "HARNESS_ERR_UNSUPPORTED" } });
    expect(result.error?.message).toContain("--runtime containers");
    expect(result.topology).toEqual({});
  });
});
