/**
 * Process tags: the environment variables that mark every process the harness or a test spawns (redis-server,
 * gateways, fleet workers), so that the orphan sweep (sweep.ts) can find the leftovers of a run whose owner died.
 */

/** Environment variable holding the run id of a spawned process. */
export const RUN_ID_ENV = "TRAFFIC_COP_RUN_ID";
/** Environment variable holding the pid of the process that spawned it (the harness or a test worker). */
export const OWNER_PID_ENV = "TRAFFIC_COP_OWNER_PID";

/**
 * The tag variables of a process spawned for run `runId`, to spread into its environment:
 * `env: { ...process.env, ...processTags(runId) }`.
 * @param ownerPid the owning process. @default process.pid
 */
export function processTags(runId: string, ownerPid: number = process.pid): Record<typeof RUN_ID_ENV | typeof OWNER_PID_ENV, string> {
  return { [RUN_ID_ENV]: runId, [OWNER_PID_ENV]: String(ownerPid) };
}
