import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventsOf } from "../../harness/events/run-events.js";
import { findLeftovers } from "../../harness/runtime/leftovers.js";
import { readRun, runCli } from "../helpers/cli.js";
import { expectRecordedEvents } from "../helpers/scenario-run.js";

const SEED = 20_261_125;

describe("scenario restart (ci profile)", { timeout: 180_000 }, () => {
  it("should pass against the reference gateway with the Redis registry", async () => {
    const { code, stdout, stderr, out, stepSummary } = await runCli(["restart", "--seed", String(SEED)]);
    expect(code, stderr).toBe(0);
    const { dir, run, files } = await readRun(out);
    expect(files).toEqual(["events.ndjson", "index.html", "instances", "junit.xml", "run.json"]);
    // What each gateway printed, the killed one's two lives in one file: its own log of Redis coming up, twice.
    const ids = (run.topology.instances as { id: string }[]).map((i) => i.id);
    expect((await readdir(join(dir, "instances"))).sort()).toEqual(ids.map((id) => `${id}.log`).sort());
    expect(run.topology.instance_logs).toEqual(Object.fromEntries(ids.map((id) => [id, `instances/${id}.log`])));
    const killed = eventsOf(run.events, "fault", "fault_start").find((e) => e.kind === "restart_instance")!.targets[0]!;
    const lines = (await readFile(join(dir, "instances", `${killed}.log`), "utf8")).trim().split("\n");
    expect(lines.every((line) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (stdout|stderr) /.test(line))).toBe(true);
    expect(lines.filter((line) => line.includes('"event":"listening"')).length).toBe(2);
    // The page (rendered in the browser from the data it embeds) links them from its topology table.
    expect(await readFile(join(dir, "index.html"), "utf8")).toContain(`"instance_logs":{`);
    expect(stdout.trim().split("\n").at(-1)).toBe(`report: ${dir}`);
    expect(run).toMatchObject({ scenario: "restart", status: "passed", exit_code: 0, seed: SEED, profile: "ci" });
    expect(run.checks.map((c) => [c.name, c.pass])).toEqual([
      ["restart-survival", true],
      ["no-ghosts", true],
      ["metrics-agree", true],
      ["delivery", true],
      ["state-audit", true],
      ["key-ttl", true],
      ["threshold: confirmed ack p99 < 1000 ms", true],
      ["threshold: connect p99 < 2000 ms", true],
      ["threshold: reconnect max < 5000 ms", true],
    ]);
    expect((await readdir(out)).sort()).toEqual([basename(dir), "index.html"].sort());
    expect(await readFile(join(out, "index.html"), "utf8")).toContain(`href="./${basename(dir)}/index.html"`);
    const summary = await readFile(stepSummary, "utf8");
    expect(summary).toContain(`### restart: passed (exit 0), seed ${SEED}`);
    expect(summary).toContain("| threshold: confirmed ack p99 &lt; 1000 ms | ✅ pass |");
    expect(stderr).toMatch(/threshold: confirmed ack p99 < 1000 ms\s+pass\s+[\d.]+ ms/);
    expect(run.events.some((e) => e.source === "fault" && e.type === "fault_end" && e.kind === "restart_instance")).toBe(true);
    expect(run.events.some((e) => e.source === "fleet" && e.type === "message_received")).toBe(true);
    expectRecordedEvents(run.events, ["fault/fault_start", "fault/fault_end", "probe/session_state_written", "fleet/message_received"]);
    expect(run.samples.length).toBeGreaterThan(5);
    expect(run.samples.some((s) => "records" in s.registry && s.registry.records > 0)).toBe(true);
    expect(await readFile(join(dir, "junit.xml"), "utf8")).toContain('<testcase classname="scenario.restart" name="restart-survival"');
    expect(await readFile(join(dir, "index.html"), "utf8")).toContain(`"run_id":"${run.run_id}"`);
    expect(await findLeftovers({ runId: run.run_id, ports: (run.topology.instances as { port: number }[]).map((i) => i.port) })).toEqual({ processes: [], listening: [] });
  });

  it("should fail with exit code 1 under --registry memory", async () => {
    // A one-second hold (the profile's is 3 s): the memory registry shares nothing between instances, so the resumes
    // after the kill already fail restart-survival and no-ghosts, whatever the length.
    const { code, stderr, out } = await runCli(["restart", "--seed", String(SEED), "--registry", "memory", "--duration", "1"]);
    expect(code, stderr).toBe(1);
    const { run } = await readRun(out);
    expect(run.status).toBe("failed");
    const verdicts = Object.fromEntries(run.checks.map((c) => [c.name, c.pass]));
    expect(verdicts).toMatchObject({ "restart-survival": false, "no-ghosts": false });
    expect(await findLeftovers({ runId: run.run_id })).toEqual({ processes: [], listening: [] });
  });
});
