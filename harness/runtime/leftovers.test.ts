import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { findFreePort } from "../common/free-port.js";
import { probeTcp } from "../common/tcp-probe.js";
import { findLeftovers } from "./leftovers.js";
import { isDescendantOf, listenerPids } from "./port-owners.js";
import { processTags } from "./process-tags.js";
import { isProcessAlive, listTaggedProcesses } from "./sweep.js";

const LISTEN = `require("node:net").createServer().listen(Number(process.argv[1]), "127.0.0.1"); setTimeout(() => {}, 60000);`;

/**
 * Starts a listener on `port` in a process that is not a descendant of this one, as another test file's or another
 * run's process is: a shell in its own session starts it in the background and exits, so it is reparented. Resolves
 * with its pid once the port accepts. `env` tags it (or not).
 */
async function orphanListener(port: number, env: Record<string, string>): Promise<number> {
  const shell = spawn("setsid", ["sh", "-c", `"${process.execPath}" -e '${LISTEN}' ${port} </dev/null >/dev/null 2>&1 & echo $!`], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  shell.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  await once(shell, "close");
  const pid = Number(out.trim());
  expect(Number.isInteger(pid) && pid > 0, `no pid in ${JSON.stringify(out)}`).toBe(true);
  onTestFinished(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  });
  await expect.poll(() => probeTcp("127.0.0.1", port), { timeout: 10_000 }).toBe("accepted");
  return pid;
}

describe("findLeftovers", () => {
  it("should name the pids listening on a port, and nobody for a closed one", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    expect(listenerPids(port)).toEqual([process.pid]);
    await new Promise((resolve) => server.close(resolve));
    expect(listenerPids(port)).toEqual([]);
  });

  it("should count a port of the run that a listener of this process still holds", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await findLeftovers({ runId: "leftovers-own", ports: [port] })).toEqual({ processes: [], listening: [port] });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await findLeftovers({ runId: "leftovers-own", ports: [port] })).toEqual({ processes: [], listening: [] });
  });

  it("should count a port held by a process tagged with the run, even one that is not a descendant", async () => {
    const runId = `leftovers-tagged-${process.pid}`;
    const port = await findFreePort();
    const pid = await orphanListener(port, processTags(runId));
    expect(isDescendantOf(pid, process.pid)).toBe(false);
    const leftovers = await findLeftovers({ runId, ports: [port] });
    expect(leftovers.listening).toEqual([port]);
    expect(leftovers.processes.map((p) => p.pid)).toEqual([pid]);
  });

  it("should not count a freed port that another run's process or an unrelated process took again", async () => {
    const runId = `leftovers-freed-${process.pid}`;
    const otherRun = await findFreePort();
    const otherPid = await orphanListener(otherRun, processTags(`another-run-${process.pid}`));
    const unrelated = await findFreePort();
    const unrelatedPid = await orphanListener(unrelated, {});
    expect(listTaggedProcesses({ runId: `another-run-${process.pid}` }).map((p) => p.pid)).toEqual([otherPid]);
    expect(listenerPids(unrelated)).toEqual([unrelatedPid]);
    expect(await findLeftovers({ runId, ports: [otherRun, unrelated] })).toEqual({ processes: [], listening: [] });
    expect(isProcessAlive(otherPid) && isProcessAlive(unrelatedPid)).toBe(true);
  });
});
