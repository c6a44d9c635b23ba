import { describe, expect, it } from "vitest";
import type { RunEvent } from "../run-result.js";
import { reproCommand } from "./repro.js";
import { instanceIds, timeBase, type PageRun } from "./run-model.js";

/** Event literals as a run.json may hold them: the page reads any shape. */
const asEvents = (events: object[]): RunEvent[] => events as unknown as RunEvent[];


/** A run as a run.json from an older harness or a broken run may hold it: anything goes. */
const loose = (v: unknown): PageRun => v as PageRun;

describe("report page run model", () => {
  it("should build the reproduce command from the run's config", () => {
    const run = loose({ scenario: "restart", seed: 42, profile: "ci", config: { runtime: "local", registry: "memory", overrides: { clients: 1000 }, sut: { name: "reference" }, gateway_env: {} } });
    expect(reproCommand(run)).toEqual({ command: "npm run scenario -- restart --seed 42 --profile ci --runtime local --registry memory --clients 1000", seedKnown: true, sut: "reference", gatewayEnv: [] });
    const other = reproCommand(loose({ scenario: "it's", config: { sut: { name: "acme" }, gateway_env: { TRAFFIC_COP_DEFECTS: "no-resume" } } }));
    expect(other).toEqual({ command: "npm run scenario -- 'it'\\''s' --sut SUT.json", seedKnown: false, sut: "acme", gatewayEnv: ["TRAFFIC_COP_DEFECTS=no-resume"] });
    expect(reproCommand({}).command).toBe("npm run scenario -- SCENARIO");
  });

  it("should find every instance id, sorted naturally", () => {
    const run = loose({
      topology: { instances: [{ id: "gw-10" }, { id: "gw-2" }] },
      samples: [{ fleet: { by_instance: { "gw-1": 3 } }, registry: { by_instance: { ghost: 1 } } }, { fleet: null, registry: { error: "x" } }],
      events: [{ source: "process", target: "gw-3" }],
    });
    expect(instanceIds(run)).toEqual(["ghost", "gw-1", "gw-2", "gw-3", "gw-10"]);
    expect(instanceIds({})).toEqual([]);
  });

  it("should take the time base from started_at, else from the earliest and latest times", () => {
    expect(timeBase(loose({ started_at: "2026-01-01T00:00:00.000Z", duration_ms: 5_000 }))).toEqual({ t0: Date.UTC(2026, 0, 1), t1: Date.UTC(2026, 0, 1) + 5_000 });
    expect(timeBase(loose({ events: [{ t: 30 }, { t: 10 }], samples: [{ t: 50 }] }))).toEqual({ t0: 10, t1: 50 });
    expect(timeBase({})).toEqual({ t0: 0, t1: 1 });
    expect(timeBase(loose({ started_at: "2026-01-01T00:00:00.000Z", events: [{ t: Date.UTC(2026, 0, 1) + 7_000 }, { t: "x" }] }))).toEqual({ t0: Date.UTC(2026, 0, 1), t1: Date.UTC(2026, 0, 1) + 7_000 });
    expect(timeBase(loose({ phases: [{ start: 40, end: 90 }, null], events: [{ t: 60 }, 3, { t: Infinity }] }))).toEqual({ t0: 40, t1: 90 });
  });

  it("should take the time base of a big run without started_at without overflowing the call stack", () => {
    const events = asEvents(Array.from({ length: 200_000 }, (_, i) => ({ t: 1_000_000 + ((i * 7_919) % 200_000), source: "fleet", type: "welcome" })));
    // What the loop replaces: a spread of this many times throws "Maximum call stack size exceeded".
    expect(() => Math.min.apply(null, events.map((e) => e.t))).toThrow(RangeError);
    expect(timeBase({ events })).toEqual({ t0: 1_000_000, t1: 1_199_999 });
    expect(timeBase({ events, duration_ms: 5_000 })).toEqual({ t0: 1_000_000, t1: 1_005_000 });
  });
});
