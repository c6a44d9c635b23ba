import { configDefaults, defineConfig } from "vitest/config";
import HeaviestFirstSequencer from "./test/heaviest-first-sequencer.js";

/**
 * The groups run one after the other (`sequence.groupOrder`), each with its own number of files at a time. Measured
 * over whole runs on this 2-core machine (/proc/stat): with two files at a time everywhere, a third of the CPU
 * stayed idle (files wait on the runs they start: TTLs, drains, process and container starts); three at a time
 * everywhere cut the suite by a sixth but failed one fresh-clone run in five (three docker-heavy files at once
 * pushed the `ttl` scenario past its own bound, and three container files at once failed `restart`'s ack p99 on
 * containers). Hence: the container files two at a time on their own, the local ones four at a time. Four at a
 * time was first tried for the suite group (suite and unit projects, one pool) when three left about 18% of the CPU
 * idle: it took 280-296 s instead of 322 s with the CPU 92-94% busy, and one fresh-clone run of two failed
 * `clock-skew` on lookups answered 503 by both gateways at once (their Redis commands, 1 s timeout, stalled by the
 * load). The probes have since asked again through such an answer for 2 s (harness/probes/probe-io.ts), and the
 * group's runs got lighter: on 2026-12-07 three at a time left 41% of the CPU idle (suite 300 s), and four took 242 s
 * with the CPU 73% busy.
 */

/**
 * Tests that must not share the machine with other harness runs, run first, one at a time, beside only the typecheck
 * (test/npm-test.mjs). `cleanup`: the start-up sweep of any run removes every orphan whose owner died, so a run of a
 * parallel test file could sweep the orphans it expects the next run to find. `chaos`: its ci timing is the tightest
 * (heartbeat 1 s), and beside two other topologies the clients' path stood still for more than a heartbeat now and
 * then (2 of 4 full test runs on one day failed it on degraded-mode: a partitioned instance's sockets terminated as
 * half-open), a load the scenario is not about. `reaper-liveness`: loads Redis with 30,000 records on purpose and
 * judges the liveness TTL (2 s); beside other files it would add that load to their wall-clock bounds (one run of the
 * timed group with it among them failed the black-hole test's recovery).
 */
const ALONE = ["test/scenarios/cleanup.test.ts", "test/integration/scenario-chaos.test.ts", "test/integration/reaper-liveness.test.ts"];

/**
 * Files that run gateways, Redis and proxies as containers: two at a time on their own, so that the Docker engine's
 * work (runc, network setup) never adds to three local topologies' load, nor three container topologies' to each other.
 */
const CONTAINERS = [
  "test/integration/runtime-contract-containers.test.ts",
  "test/integration/container-runtime.test.ts",
  "test/integration/container-nemeses.test.ts",
  "test/scenarios/containers.test.ts",
  "test/scenarios/containers-cleanup.test.ts",
  "test/scenarios/containers-packet-loss.test.ts",
  "test/integration/container-packet-faults.test.ts",
];

/**
 * Files that bound how late something may happen in wall-clock time (a toxic's delay, a fail-fast answer, a drain,
 * a reap): they run last, so that the main group's heavy runs do not add their load to those bounds; three at a
 * time, since they mostly wait (measured: two at a time left 34 of 53 CPU-s idle, three 20 of 39, with each file's
 * duration unchanged: 25.5 s -> 18.6 s for the group).
 * None of them runs a scenario or a runtime, so none sweeps: `network-namespaces`, which expects a killed run's
 * namespace to wait for its own sweep, runs among them.
 */
const TIMED = [
  "test/integration/toxiproxy-toxics.test.ts",
  "test/integration/gateway-redis-outage.test.ts",
  "test/integration/gateway-redis-blackhole.test.ts",
  "test/integration/gateway-stale-redis-link.test.ts",
  "test/integration/gateway-cluster-stale-link.test.ts",
  "test/integration/registry-availability.test.ts",
  "test/integration/gateway-restart.test.ts",
  "test/integration/gateway-heartbeat.test.ts",
  "test/integration/gateway-redis-shared-outage.test.ts",
  "test/integration/network-namespaces.test.ts",
];

/**
 * Run in every test worker before its files: the harness's last-resort cleanup, so that a worker ended by a signal
 * (vitest's own SIGTERM at the end, Ctrl-C) leaves none of the processes its tests started (test/helpers/worker-cleanup.ts).
 */
export const SETUP_FILES = ["test/helpers/worker-cleanup.ts"] as const;

export default defineConfig({
  test: {
    pool: "forks",
    setupFiles: [...SETUP_FILES],
    // Test files share their worker processes (no fresh process and module graph per file). Measured over the
    // suite and unit groups on this 2-core machine: the workers' CPU 188 s -> 149 s, their wall time 333 s -> 315 s;
    // for the 68 unit files alone 10 s instead of 24 s. No test file mocks modules or stubs the environment, and
    // every process handler the harness adds it removes (runtime/teardown.ts, cli/gate-main.ts).
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Heaviest files first, the same order on every machine (test/heaviest-first-sequencer.ts).
    sequence: { sequencer: HeaviestFirstSequencer },
    // The default output, then where the time went (test/ci-timing-reporter.ts).
    reporters: ["default", "./test/ci-timing-reporter.ts"],
    projects: [
      { extends: true, test: { name: "alone", include: ALONE, maxWorkers: 1, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "containers", include: CONTAINERS, maxWorkers: 2, sequence: { groupOrder: 1 } } },
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...ALONE, ...CONTAINERS, ...TIMED],
          maxWorkers: 4,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "harness/**/*.test.ts"],
          maxWorkers: 4,
          sequence: { groupOrder: 2 },
        },
      },
      { extends: true, test: { name: "timed", include: TIMED, maxWorkers: 3, sequence: { groupOrder: 3 } } },
    ],
  },
});
