import { probeTcp } from "../common/tcp-probe.js";
import { listTaggedProcesses, type TaggedProcess } from "./sweep.js";

/** What a run left behind. */
export interface Leftovers {
  /** Live processes tagged with the run id. */
  processes: TaggedProcess[];
  /** Ports that still accept connections. */
  listening: number[];
}

/** Lists processes tagged with `runId` and which of `ports` still accept connections (both should be empty after teardown). */
export async function findLeftovers(options: { runId: string; ports?: number[]; host?: string }): Promise<Leftovers> {
  const host = options.host ?? "127.0.0.1";
  const ports = options.ports ?? [];
  const open = await Promise.all(ports.map(async (port) => ((await probeTcp(host, port)) === "accepted" ? port : undefined)));
  return { processes: listTaggedProcesses({ runId: options.runId }), listening: open.filter((p): p is number => p !== undefined) };
}
