import { describe, expect, it } from "vitest";
import { BackgroundTasks } from "./background-tasks.js";

/** A background "fault" that holds until its signal aborts, as the fault runner's hold does. */
function holding(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve("healed"), { once: true }));
}

describe("BackgroundTasks.endFaults", () => {
  it("should heal every running fault of the kind asked, and none of another kind", async () => {
    const tasks = new BackgroundTasks();
    const skews = [new AbortController(), new AbortController()];
    const partition = new AbortController();
    const ended: string[] = [];
    const skewTasks = skews.map((c, n) => holding(c.signal).then(() => void ended.push(`skew-${n}`)));
    for (const [n, c] of skews.entries()) tasks.addFault("clock_skew", skewTasks[n]!, () => c.abort());
    tasks.addFault("partition", holding(partition.signal).then(() => void ended.push("partition")), () => partition.abort());

    expect(tasks.endFaults("clock_skew")).toBe(2);
    await Promise.all(skewTasks);
    expect(ended.sort()).toEqual(["skew-0", "skew-1"]);
    expect(partition.signal.aborted).toBe(false);

    partition.abort();
    await tasks.awaitAll();
    expect(ended).toContain("partition");
  });

  it("should forget a fault once it has ended by itself", async () => {
    const tasks = new BackgroundTasks();
    let ends = 0;
    tasks.addFault("clock_skew", Promise.resolve(), () => ends++);
    await tasks.awaitAll();
    expect(tasks.endFaults("clock_skew")).toBe(0);
    expect(ends).toBe(0);
  });
});
