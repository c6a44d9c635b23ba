import { configDefaults, defineConfig } from "vitest/config";
import HeaviestFirstSequencer from "./test/heaviest-first-sequencer.js";

/**
 * Tests that must not share the machine with other harness runs: the start-up sweep of any run removes every
 * orphan whose owner died, so a run of a parallel test file could sweep the orphans this file expects the next
 * run to sweep. They run after everything else, on their own.
 */
const ALONE = ["test/scenarios/cleanup.test.ts"];

export default defineConfig({
  test: {
    pool: "forks",
    // Two cores: more workers only add contention to timing-sensitive tests.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Heaviest files first, the same order on every machine (test/heaviest-first-sequencer.ts).
    sequence: { sequencer: HeaviestFirstSequencer },
    // The default output, then where the time went (test/ci-timing-reporter.ts).
    reporters: ["default", "./test/ci-timing-reporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["src/**/*.test.ts", "harness/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...ALONE],
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: "alone", include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
