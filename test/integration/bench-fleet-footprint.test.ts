import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it, onTestFinished } from "vitest";
import { footprint } from "../../bench/fleet.js";

/** A field of /proc/<pid>/status, bytes. */
function status(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1_024;
}

describe("bench fleet: footprint of several client processes", () => {
  it("should count each process's own memory and the shared binary's pages once", async () => {
    // Three idle Node processes, one of them started by another (footprint walks descendants too).
    const code = `require("node:child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }); setInterval(() => {}, 1000);`;
    const parents = [spawn(process.execPath, ["-e", code], { stdio: "ignore" }), spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })];
    onTestFinished(() => {
      for (const parent of parents) parent.kill("SIGKILL");
    });
    const childOf = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    await expect.poll(() => childOf(parents[0]!.pid!), { timeout: 10_000 }).not.toBe("");
    const pids = [parents[0]!.pid!, Number(childOf(parents[0]!.pid!)), parents[1]!.pid!];
    // Each has its Node binary mapped and touched.
    await expect.poll(() => pids.every((pid) => status(pid, "RssFile") > 10 * 1_048_576), { timeout: 10_000 }).toBe(true);

    // What footprint() should find, read right before and right after it: a process still settling moves between.
    const expectedNow = () => {
      const rss = pids.map((pid) => status(pid, "VmRSS"));
      const files = pids.map((pid) => status(pid, "RssFile"));
      const sum = rss.reduce((a, b) => a + b, 0);
      // The binary once: the VmRSS sum minus every file-backed page but the largest process's.
      return { sum, bytes: sum - files.reduce((a, b) => a + b, 0) + Math.max(...files), largest: Math.max(...rss) };
    };
    const before = expectedNow();
    const measured = await footprint([parents[0]!.pid!, parents[1]!.pid!]);
    const after = expectedNow();
    // /proc/<pid>/status rounds to kB: a little slack on each side.
    const slack = 256 * 1_024;
    const within = (value: number, a: number, b: number) => value >= Math.min(a, b) - slack && value <= Math.max(a, b) + slack;
    expect(within(measured.rssSum, before.sum, after.sum), JSON.stringify({ measured, before, after })).toBe(true);
    expect(within(measured.bytes, before.bytes, after.bytes), JSON.stringify({ measured, before, after })).toBe(true);
    expect(measured.bytes).toBeGreaterThanOrEqual(Math.min(before.largest, after.largest) - slack);
    expect(measured.rssSum - measured.bytes).toBeGreaterThan(20 * 1_048_576);
  });
});
