import { connect } from "node:net";

/** What one TCP connect attempt found: accepted, refused, timed out, or another socket error code. */
export type TcpProbeResult = "accepted" | "refused" | "timeout" | (string & {});

/**
 * Tries one TCP connect to `host:port` and closes it at once. Never rejects: the outcome is the result.
 * @param timeoutMs how long a connect may hang (a black-holed port) before it counts as `"timeout"`. @default 1000
 */
export function probeTcp(host: string, port: number, timeoutMs = 1_000): Promise<TcpProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once("connect", () => {
      socket.destroy();
      resolve("accepted");
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED" ? "refused" : (error.code ?? "error")));
  });
}
