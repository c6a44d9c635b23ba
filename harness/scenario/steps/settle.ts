import { retryUntil } from "../../common/retry.js";
import { HarnessError } from "../../errors.js";
import type { StepHandler } from "../run-context.js";

/** `Step.settle()`: pauses messages, then waits for every sent message's outcome and for every client to be connected. */
export const settleStep: StepHandler<"settle"> = async (step, run) => {
  const fleet = run.requireFleet();
  const { timeoutMs } = step;
  const signal = run.signal;
  const deadline = Date.now() + timeoutMs;
  // Only once every worker has stopped sending is "every sent message has an outcome" final.
  await fleet.setMessageRate(0);
  await retryUntil(
    async () => fleet.snapshot(),
    (s) => s.messages.sent === s.messages.acked + s.messages.errors,
    (last) => new HarnessError("HARNESS_ERR_FLEET_TIMEOUT", `messages did not settle within ${timeoutMs}ms (sent ${last.value?.messages.sent}, acked ${last.value?.messages.acked}, errors ${last.value?.messages.errors})`),
    { timeoutMs, intervalMs: 100, ...(signal ? { signal } : {}) },
  );
  await fleet.waitForConnected(run.profile.clients, Math.max(1, deadline - Date.now()));
  run.recorder.record({ t: Date.now(), source: "engine", type: "settled" });
};
