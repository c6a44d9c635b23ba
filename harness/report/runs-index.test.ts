import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { JsonReporter } from "./json-reporter.js";
import { parseDurationMs, pruneRuns } from "./prune-runs.js";
import { RUN_RESULT_SCHEMA_VERSION, type RunResult } from "./run-result.js";
import { listRuns, renderRunsIndex, RunsIndexReporter, writeRunsIndex } from "./runs-index.js";

const HOSTILE = `<script>alert(1)</script>"'&\u001b`;

function result(runId: string, startedAt: string, overrides: Partial<RunResult> = {}): RunResult {
  return {
    schema_version: RUN_RESULT_SCHEMA_VERSION,
    run_id: runId,
    scenario: "restart",
    description: 'a description with ,"config": inside',
    status: "passed",
    exit_code: 0,
    started_at: startedAt,
    ended_at: startedAt,
    duration_ms: 12_300,
    seed: 42,
    profile: "ci",
    config: { big: "x".repeat(200_000) },
    topology: {},
    plan: [],
    phases: [],
    events: [],
    samples: [],
    checks: [],
    ...overrides,
  };
}

/** A reports root with three runs written by the real JSON reporter, plus things that are not runs. */
async function reportsRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "reports-"));
  onTestFinished(() => rm(root, { recursive: true, force: true }));
  await new JsonReporter(join(root, "old")).onRunEnd(result("old", "2026-11-01T10:00:00.000Z", { status: "failed", exit_code: 1 }));
  await new JsonReporter(join(root, "mid")).onRunEnd(result("mid", "2026-12-01T10:00:00.000Z", { scenario: HOSTILE }));
  await new JsonReporter(join(root, "new")).onRunEnd(result("new", "2026-12-03T10:00:00.000Z"));
  await mkdir(join(root, "not-a-run"));
  await writeFile(join(root, "not-a-run", "notes.txt"), "keep me");
  await writeFile(join(root, ".gitkeep"), "");
  const outside = await mkdtemp(join(tmpdir(), "outside-"));
  onTestFinished(() => rm(outside, { recursive: true, force: true }));
  await new JsonReporter(outside).onRunEnd(result("outside", "2020-01-01T00:00:00.000Z"));
  await symlink(outside, join(root, "linked"));
  await mkdir(join(root, "broken"));
  await writeFile(join(root, "broken", "run.json"), "{not json");
  return root;
}

describe("listRuns", () => {
  it("should list only directories holding a run.json, newest first, from the head of each file", async () => {
    const runs = await listRuns(await reportsRoot());
    expect(runs.map((run) => run.dir)).toContain("broken");
    const readable = runs.filter((run) => run.status !== "unreadable");
    expect(readable.map((run) => run.dir)).toEqual(["new", "mid", "old"]);
    expect(readable[2]).toEqual({ dir: "old", run_id: "old", scenario: "restart", status: "failed", exit_code: 1, seed: 42, profile: "ci", started_at: "2026-11-01T10:00:00.000Z", duration_ms: 12_300 });
    expect(runs.map((run) => run.dir)).not.toContain("linked");
    expect(runs.map((run) => run.dir)).not.toContain("not-a-run");
  });

  it("should give an empty list for a root that does not exist", async () => {
    expect(await listRuns(join(tmpdir(), "no-such-reports-root-x9"))).toEqual([]);
  });
});

describe("renderRunsIndex", () => {
  it("should show hostile text as text and load nothing", async () => {
    const page = renderRunsIndex(await listRuns(await reportsRoot()));
    expect(page).not.toContain("<script");
    expect(page).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(page).not.toMatch(/\u001b/);
    expect(page).not.toMatch(/https?:|src=|@import|url\(/);
    expect(page.indexOf('href="./new/index.html"')).toBeLessThan(page.indexOf('href="./old/index.html"'));
  });
});

describe("RunsIndexReporter", () => {
  it("should rewrite the root's index.html after a run, listing that run", async () => {
    const root = await reportsRoot();
    await new JsonReporter(join(root, "latest")).onRunEnd(result("latest", "2026-12-04T00:00:00.000Z"));
    await new RunsIndexReporter(join(root, "latest")).onRunEnd();
    const page = await readFile(join(root, "index.html"), "utf8");
    expect(page).toContain('href="./latest/index.html"');
    expect((await readdir(root)).filter((name) => name.startsWith(".index.html"))).toEqual([]);
  });
});

describe("pruneRuns", () => {
  it("should keep the newest N runs and touch nothing that is not a run", async () => {
    const root = await reportsRoot();
    // The unreadable run dates from its directory's mtime (just now), so it counts as the newest.
    const outcome = await pruneRuns(root, { keep: 2 });
    expect(outcome.removed.map((run) => run.dir)).toEqual(["mid", "old"]);
    expect((await readdir(root)).sort()).toEqual([".gitkeep", "broken", "index.html", "linked", "new", "not-a-run"]);
    expect(await readFile(join(root, "not-a-run", "notes.txt"), "utf8")).toBe("keep me");
    expect(await readFile(join(root, "linked", "run.json"), "utf8")).toContain('"outside"');
  });

  it("should remove runs older than the duration", async () => {
    const root = await reportsRoot();
    const outcome = await pruneRuns(root, { olderThanMs: parseDurationMs("7d"), now: Date.parse("2026-12-05T00:00:00.000Z") });
    expect(outcome.removed.map((run) => run.dir)).toEqual(["old"]);
  });

  it("should remove a run only when it is beyond both rules when both are given", async () => {
    const root = await reportsRoot();
    const now = Date.parse("2026-12-05T00:00:00.000Z");
    expect((await pruneRuns(root, { keep: 0, olderThanMs: parseDurationMs("3d"), now, dryRun: true })).removed.map((run) => run.dir)).toEqual(["mid", "old"]);
    expect((await pruneRuns(root, { keep: 3, olderThanMs: parseDurationMs("3d"), now, dryRun: true })).removed.map((run) => run.dir)).toEqual(["old"]);
    expect((await pruneRuns(root, { keep: 4, olderThanMs: parseDurationMs("3d"), now, dryRun: true })).removed.map((run) => run.dir)).toEqual([]);
  });

  it("should remove nothing on a dry run", async () => {
    const root = await reportsRoot();
    const before = (await readdir(root)).sort();
    const outcome = await pruneRuns(root, { keep: 0, dryRun: true });
    expect(outcome.removed).toHaveLength(4);
    expect((await readdir(root)).sort()).toEqual(before);
  });

  it("should reject a call without a rule or with a bad one", async () => {
    const root = await reportsRoot();
    await expect(pruneRuns(root, {})).rejects.toMatchObject({ code: "HARNESS_ERR_USAGE" });
    await expect(pruneRuns(root, { keep: -1 })).rejects.toMatchObject({ code: "HARNESS_ERR_USAGE" });
    expect(() => parseDurationMs("7 days")).toThrow(expect.objectContaining({ code: "HARNESS_ERR_USAGE" }));
    expect(parseDurationMs("90m")).toBe(5_400_000);
  });
});

describe("writeRunsIndex", () => {
  it("should write an index of an empty root", async () => {
    const root = await mkdtemp(join(tmpdir(), "reports-"));
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    expect(await readFile(await writeRunsIndex(root), "utf8")).toContain("0 runs");
  });
});
