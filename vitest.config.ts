import { configDefaults, defineConfig } from "vitest/config";
import HeaviestFirstSequencer from "./test/heaviest-first-sequencer.js";

/**
 * Files that bound how late something may happen in wall-clock time (a toxic's delay, a fail-fast answer, a drain,
 * a reap): they run after the main group, two at a time, so that the main group's heavy runs do not add their load
 * to those bounds.
 */
const TIMED = [
  "test/integration/toxiproxy-toxics.test.ts",
  "test/integration/gateway-redis-outage.test.ts",
  "test/integration/gateway-redis-blackhole.test.ts",
  "test/integration/registry-availability.test.ts",
  "test/integration/gateway-restart.test.ts",
];

/**
 * Tests that must not share the machine with other harness runs: the start-up sweep of any run removes every
 * orphan whose owner died, so a run of a parallel test file could sweep the orphans these files expect the next
 * run (or their own sweep) to find. They run after everything else, one at a time.
 */
const ALONE = ["test/scenarios/cleanup.test.ts", "test/integration/network-namespaces.test.ts"];

export default defineConfig({
  test: {
    pool: "forks",
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
          exclude: [...configDefaults.exclude, ...TIMED, ...ALONE],
          // Two workers on two cores. With two, a third of both cores stays idle (/proc/stat over a whole run: 394
          // of 1,190 CPU seconds: files wait on the runs they start). Three cut the suite from ~600 s to ~500 s, but
          // three docker-heavy files at once loaded the machine past what the scenarios' own bounds allow: in five
          // fresh-clone runs, one failed `ttl` (a stranded record 2.6 s past its bound) beside races fixed since.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: "timed", include: TIMED, maxWorkers: 2, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: "alone", include: ALONE, maxWorkers: 1, sequence: { groupOrder: 2 } } },
    ],
  },
});
