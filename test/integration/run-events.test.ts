import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUN_EVENT_TYPES, isRunEvent, runEventProblem } from "../../harness/events/run-event-guard.js";
import type { ScenarioDefinition } from "../../harness/scenario/define-scenario.js";
import { runScenario } from "../../harness/scenario/engine.js";
import deploy from "../../scenarios/deploy.js";
import partition from "../../scenarios/partition.js";
import restart from "../../scenarios/restart.js";
import tenants from "../../scenarios/tenants.js";
import allChecks from "../fixtures/all-checks-scenario.js";
import { expectNoLeftovers } from "../helpers/scenario-run.js";

const SEED = 20_261_203;

/** Runs a scenario in its `ci` profile and returns its events as written to run.json (parsed back). */
async function recordedEvents(scenario: ScenarioDefinition): Promise<unknown[]> {
  const out = await mkdtemp(join(tmpdir(), `traffic-cop-events-${scenario.name}-`));
  try {
    const { result } = await runScenario({ scenario, seed: SEED, outDir: out });
    await expectNoLeftovers(result);
    const run = JSON.parse(await readFile(join(out, result.run_id, "run.json"), "utf8")) as { events: unknown[] };
    return run.events;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Every `source/type` the union declares. */
const DECLARED = Object.entries(RUN_EVENT_TYPES).flatMap(([source, types]) => types.map((type) => `${source}/${type}`));

/** What a run of each scenario must record beyond every run's own (run_start, phases, the fleet, processes). */
const RUNS: { scenario: ScenarioDefinition; records: string[] }[] = [
  { scenario: restart, records: ["fault/fault_start", "fault/fault_end", "probe/session_state_written", "fleet/message_received"] },
  { scenario: deploy, records: ["fault/fault_end", "fleet/reconnect_notice"] },
  { scenario: partition, records: ["fault/fault_applied", "probe/degraded_lookup", "probe/degraded_reconcile"] },
  { scenario: tenants, records: ["probe/isolation_probe"] },
  { scenario: allChecks, records: ["probe/stranded", "probe/lookup_probe", "probe/route_probe", "probe/isolation_probe", "engine/check_result"] },
];

describe.sequential("recorded events of real runs", { timeout: 180_000 }, () => {
  for (const { scenario, records } of RUNS) {
    it(`should all be members of the event union (${scenario.name})`, async () => {
      const events = await recordedEvents(scenario);
      const problems = events.map((event, index) => ({ index, problem: runEventProblem(event) })).filter((p) => p.problem !== undefined);
      expect(problems.slice(0, 10), `${problems.length} of ${events.length} events do not parse`).toEqual([]);
      const seen = new Set(events.filter(isRunEvent).map((event) => `${event.source}/${event.type}`));
      for (const kind of records) expect(DECLARED).toContain(kind);
      expect([...records, "engine/run_start", "phase/phase_start", "fleet/welcome", "process/process_state", "runtime/topology_started"].filter((kind) => !seen.has(kind))).toEqual([]);
    });
  }
});
