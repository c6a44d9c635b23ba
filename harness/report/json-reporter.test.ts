import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { JsonReporter, writeRunJson } from "./json-reporter.js";
import type { RunResult } from "./run-result.js";

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "traffic-cop-json-reporter-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A run record with what JSON.stringify treats specially: members without a JSON form, odd numbers, hostile text. */
function result(events: unknown[]): RunResult {
  return {
    run_id: "r1",
    scenario: "restart",
    missing: undefined,
    fn: () => 1,
    events,
    checks: [{ name: "delivery", pass: false, actual: { ratio: Number.NaN, max: Number.POSITIVE_INFINITY, zero: -0 }, evidence: { text: "\u001b[2J\u2028</script>\ud800" } }],
    nested: { list: [undefined, null, 1], when: new Date(0) },
  } as unknown as RunResult;
}

describe("JsonReporter", () => {
  it("should write run.json exactly as JSON.stringify does, its events a chunk at a time", async () => {
    const dir = await tempDir();
    const events = Array.from({ length: 20_001 }, (_, i) => (i === 1_000 ? undefined : { t: i, source: "fleet", type: "welcome", client: `c${i}`, note: i % 7 === 0 ? "\u0000\"quoted\"" : i % 3 === 0 ? undefined : "x".repeat(40) }));
    // Far more than the stream's buffer, so writes wait for it to drain many times, leaving no listener behind.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    onTestFinished(() => void process.off("warning", onWarning));
    const written = await new JsonReporter(dir).onRunEnd(result(events));
    expect(written).toEqual([join(dir, "run.json")]);
    expect(await readFile(join(dir, "run.json"), "utf8")).toBe(`${JSON.stringify(result(events))}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.name)).toEqual([]);
  });

  it("should write an empty events array, and a record without one, alike", async () => {
    const dir = await tempDir();
    await writeRunJson(join(dir, "a.json"), result([]));
    expect(await readFile(join(dir, "a.json"), "utf8")).toBe(`${JSON.stringify(result([]))}\n`);
    await writeRunJson(join(dir, "b.json"), {} as RunResult);
    expect(await readFile(join(dir, "b.json"), "utf8")).toBe("{}\n");
  });

  it("should reject when the file cannot be written", async () => {
    const dir = await tempDir();
    await expect(writeRunJson(join(dir, "no-such-dir", "run.json"), result([{ t: 1 }]))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
