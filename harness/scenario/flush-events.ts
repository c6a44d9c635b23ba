import { retryUntil } from "../common/retry.js";
import type { StartedClientFleet } from "../fleet/client-fleet.js";
import type { Recorder } from "../recorder/recorder.js";

const FLUSH_TIMEOUT_MS = 10_000;

/** Waits until the recorder has every message event the fleet has counted (events arrive in batches). */
export async function flushEvents(fleet: StartedClientFleet, recorder: Recorder): Promise<void> {
  await retryUntil(
    async () => ({ fleet: fleet.snapshot().messages, recorded: { ...recorder.messageCounts } }),
    ({ fleet: f, recorded: r }) => r.sent >= f.sent && r.acked >= f.acked && r.received >= f.received && r.errors >= f.errors,
    () => new Error("fleet events not flushed"),
    { timeoutMs: FLUSH_TIMEOUT_MS, intervalMs: 50 },
  ).catch(() => undefined);
}
