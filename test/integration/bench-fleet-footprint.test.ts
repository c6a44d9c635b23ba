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
    // Each in a process group of its own, killed as a group: the child that the first one starts goes with it.
    const idle = (script: string) => spawn(process.execPath, ["-e", script], { stdio: "ignore", detached: true });
    const parents = [idle(code), idle("setInterval(() => {}, 1000)")];
    onTestFinished(() => {
      for (const parent of parents) process.kill(-parent.pid!, "SIGKILL");
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
    // A Node process starting up grows and then frees memory for a few hundred ms, so the figure is not monotonic in
    // time: wait until two readings 100 ms apart agree within 64 KB before bracketing what footprint() reads.
    let last = Number.NaN;
    await expect
      .poll(
        () => {
          const sum = expectedNow().sum;
          const settled = Math.abs(sum - last) < 64 * 1_024;
          last = sum;
          return settled;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
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
