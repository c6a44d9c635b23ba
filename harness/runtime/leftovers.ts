import { probeTcp } from "../common/tcp-probe.js";
import { commandName, isDescendantOf, listenerPids } from "./port-owners.js";
import { listTaggedProcesses, type TaggedProcess } from "./sweep.js";

/** What a run left behind. */
export interface Leftovers {
  /** Live processes tagged with the run id. */
  processes: TaggedProcess[];
  /** Ports of the run that still accept connections on a listener of the run (or of an owner that cannot be told). */
  listening: number[];
}

/**
 * Docker's userland proxy publishes container ports on the host for every run alike: a listener of it cannot be told
 * to be another run's, so it counts as the run's own.
 */
const SHARED_PUBLISHERS = new Set(["docker-proxy"]);

/**
 * Lists processes tagged with `runId` and which of `ports` still accept connections on a listener of the run (both
 * should be empty after teardown).
 *
 * A port the run freed may be taken again at once by anyone on the machine (a port is free once closed; parallel
 * runs and test files draw from the same range): a port that accepts counts only when its listener is this
 * process (the harness's proxies), one of its descendants, a process tagged with `runId`, or an owner `/proc` cannot
 * name or tell apart. A listener of another run's process, or of an unrelated process, is not this run's leftover.
 */
export async function findLeftovers(options: { runId: string; ports?: number[]; host?: string }): Promise<Leftovers> {
  const host = options.host ?? "127.0.0.1";
  const ports = options.ports ?? [];
  const processes = listTaggedProcesses({ runId: options.runId });
  const tagged = new Set(processes.map((p) => p.pid));
  const ours = (pid: number) => pid === process.pid || tagged.has(pid) || isDescendantOf(pid, process.pid) || SHARED_PUBLISHERS.has(commandName(pid));
  const accepts = async (port: number) => (await probeTcp(host, port)) === "accepted";
  const open = await Promise.all(
    ports.map(async (port) => {
      if (!(await accepts(port))) return undefined;
      const owners = listenerPids(port);
      if (owners.length > 0) return owners.some(ours) ? port : undefined;
      // No listener found: it closed between the probe and /proc (ask again), or /proc cannot say (count it).
      return (await accepts(port)) ? port : undefined;
    }),
  );
  return { processes, listening: open.filter((p): p is number => p !== undefined) };
}
