import { deriveSeed } from "../../common/random.js";
import { ClientFleet } from "../../fleet/client-fleet.js";
import type { StepHandler } from "../run-context.js";

/** `Step.connectFleet()`: starts the client fleet against every instance and waits until every client is connected. */
export const connectFleetStep: StepHandler<"connect_fleet"> = async (step, run) => {
  const { runtime, profile, recorder } = run;
  run.fleet = await new ClientFleet({
    targets: runtime.targets(),
    clients: profile.clients,
    authSecret: runtime.authSecret,
    seed: deriveSeed(run.seed, "fleet"),
    rampPerSecond: profile.rampPerSecond,
    messageRatePerSecond: 0,
    onEvent: recorder.recordFleet,
    onStall: (worker, from, durationMs) => recorder.recordProbe({ type: "harness_stall", from, duration_ms: durationMs, client_path: true, worker }),
    runId: run.runId,
  }).start();
  await run.fleet.waitForConnected(profile.clients, step.timeoutMs);
};
