import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { INSTANCE_LOG_DIR, InstanceLogs, MAX_INSTANCE_LOG_BYTES, MAX_LINE_BYTES } from "./instance-logs.js";

async function reportDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "instance-logs-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("InstanceLogs", () => {
  it("should keep each instance's lines in its own file, stamped, with the stream", async () => {
    const dir = await reportDir();
    const logs = new InstanceLogs(dir);
    logs.write("gw-1", '{"event":"listening"}', "stdout");
    logs.write("gw-2", "boom", "stderr");
    logs.write("../evil id", "x", "stdout");
    await logs.close();
    logs.write("gw-1", "after close", "stdout");
    expect((await readdir(join(dir, INSTANCE_LOG_DIR))).sort()).toEqual([".._evil_id.log", "gw-1.log", "gw-2.log"]);
    expect(await readFile(join(dir, INSTANCE_LOG_DIR, "gw-1.log"), "utf8")).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stdout \{"event":"listening"\}\n$/);
    expect(await readFile(join(dir, INSTANCE_LOG_DIR, "gw-2.log"), "utf8")).toMatch(/Z stderr boom\n$/);
  });

  it("should cut a long line and stop at the byte bound, counting what it dropped", async () => {
    const dir = await reportDir();
    const logs = new InstanceLogs(dir);
    logs.write("gw-1", "y".repeat(MAX_LINE_BYTES + 10), "stdout");
    const line = "z".repeat(1_000);
    const fitting = Math.ceil(MAX_INSTANCE_LOG_BYTES / 1_000);
    for (let i = 0; i < fitting + 50; i++) logs.write("gw-1", line, "stdout");
    await logs.close();
    const text = await readFile(join(dir, INSTANCE_LOG_DIR, "gw-1.log"), "utf8");
    const lines = text.trim().split("\n");
    expect(lines[0]).toContain(`${"y".repeat(MAX_LINE_BYTES)} [10 more characters cut]`);
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_INSTANCE_LOG_BYTES + 2 * MAX_LINE_BYTES);
    expect(lines.at(-1)).toMatch(/harness \d+ more lines dropped/);
    const dropped = Number(/harness (\d+) more lines dropped/.exec(lines.at(-1)!)![1]);
    expect(dropped + lines.length - 2).toBe(fitting + 50);
  });
});
