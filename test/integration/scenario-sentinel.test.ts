import { describe, expect, it } from "vitest";
import { eventsOf } from "../../harness/events/run-events.js";
import sentinel from "../../scenarios/sentinel.js";
import { checkOf, expectFailedBy, expectPassed, faultEnds, runCiScenario } from "../helpers/scenario-run.js";

const SEED = 20_261_203;

describe("scenario sentinel (ci profile)", { timeout: 180_000 }, () => {
  it("should pass against the reference gateway: the replica is promoted and the registry converges within the bound", async () => {
    const result = await runCiScenario(sentinel, { seed: SEED });
    expectPassed(sentinel, result);
    const [end] = faultEnds(result, "redis_failover");
    expect(end).toMatchObject({ ok: true, detail: { promotion_ms: expect.any(Number), rejoin_ms: expect.any(Number) } });
    const [measured] = eventsOf(result.events, "probe", "registry_convergence");
    expect(measured).toMatchObject({ fault_kind: "redis_failover", converged_after_ms: expect.any(Number), unrefreshed_records: 0 });
    console.log(
      `sentinel: promotion ${String(end!.detail!.promotion_ms)} ms, rejoin ${String(end!.detail!.rejoin_ms)} ms, replication lag ${String(end!.detail!.replication_lag_bytes)} B, ` +
        `converged ${measured!.converged_after_ms} ms after the fault, records lost ${measured!.first?.missing}, left behind ${measured!.first?.ghosts}`,
    );
  });

  it("should fail convergence with a gateway that does not follow the sentinels (TRAFFIC_COP_DEFECTS=pinned-primary)", async () => {
    const result = await runCiScenario(sentinel, { seed: SEED, control: { defects: "pinned-primary" } });
    const check = expectFailedBy(result, "convergence");
    expect(checkOf(result, "convergence").evidence).toMatchObject({ late: [expect.objectContaining({ fault_id: "f1" })] });
    console.log(`pinned-primary: ${JSON.stringify(check.actual)} ${JSON.stringify(check.evidence)}`);
  });
});
