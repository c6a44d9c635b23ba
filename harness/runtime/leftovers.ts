import { connect } from "node:net";
import { listTaggedProcesses, type TaggedProcess } from "./sweep.js";

/** What a run left behind. */
export interface Leftovers {
  /** Live processes tagged with the run id. */
  processes: TaggedProcess[];
  /** Ports that still accept connections. */
  listening: number[];
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Lists processes tagged with `runId` and which of `ports` still accept connections (both should be empty after teardown). */
export async function findLeftovers(options: { runId: string; ports?: number[]; host?: string }): Promise<Leftovers> {
  const host = options.host ?? "127.0.0.1";
  const ports = options.ports ?? [];
  const open = await Promise.all(ports.map(async (port) => ((await accepts(host, port)) ? port : undefined)));
  return { processes: listTaggedProcesses({ runId: options.runId }), listening: open.filter((p): p is number => p !== undefined) };
}
