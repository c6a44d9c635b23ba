import { stat } from "node:fs/promises";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * About how long each slow test file of the main group takes, in seconds (a fresh-clone `.ci/run` on this 2-core
 * machine, three files at a time, so somewhat above their time two at a time; files under about 9 s are left out). Only the order matters: the heaviest files
 * start first, so that no long file starts last and runs alone while the other workers idle
 * (longest-processing-time-first scheduling; a 29 s file missing here once ran last). Refresh the figures from the
 * per-file times of `npx vitest run` when a file's weight changes a lot; a file missing here runs after these,
 * larger files first.
 */
export const FILE_SECONDS: Readonly<Record<string, number>> = Object.freeze({
  "test/integration/runtime-contract-containers.test.ts": 43,
  "test/scenarios/containers.test.ts": 91,
  "test/scenarios/containers-packet-loss.test.ts": 40,
  "test/integration/container-nemeses.test.ts": 36,
  "test/integration/container-runtime.test.ts": 30,
  "test/integration/scenarios-pause.test.ts": 36,
  "test/integration/html-report.test.ts": 61,
  "test/integration/nemesis-scenarios.test.ts": 60,
  "test/integration/cleanup-checks.test.ts": 60,
  "test/integration/scenarios-links.test.ts": 70,
  "test/integration/conformance.test.ts": 58,
  "test/integration/scenarios-lifecycle.test.ts": 56,
  "test/integration/harness-checks.test.ts": 55,
  "test/integration/gate.test.ts": 167,
  "test/integration/scenario-sentinel.test.ts": 45,
  "test/scenarios/restart.test.ts": 43,
  "test/integration/nemesis-clock-skew.test.ts": 50,
  "test/scenarios/containers-cleanup.test.ts": 26,
  "test/integration/nemesis-slow-consumer.test.ts": 34,
  "test/integration/scenario-packet-loss.test.ts": 29,
  "test/integration/report-scale.test.ts": 25,
  "test/integration/redis-cluster-proxies.test.ts": 23,
  "test/integration/runtime-contract-local.test.ts": 12,
  "test/integration/scenario-cluster-failover.test.ts": 20,
  "test/integration/nemesis-client-path.test.ts": 16,
  "test/integration/registry-properties.test.ts": 13,
  "test/integration/fleet-gateway.test.ts": 12,
  "test/integration/redis-sentinel.test.ts": 11,
  "test/integration/gateway-defects.test.ts": 11,
  "test/integration/fleet-lifecycle.test.ts": 11,
  "test/integration/gateway-protocol.test.ts": 9,
  // The timed and alone groups (vitest.config.ts), ordered among themselves.
  "test/integration/scenario-chaos.test.ts": 30,
  "test/integration/gateway-stale-redis-link.test.ts": 22,
  "test/integration/gateway-cluster-stale-link.test.ts": 24,
  "test/integration/gateway-heartbeat.test.ts": 11,
  "test/integration/gateway-restart.test.ts": 9,
  "test/integration/gateway-redis-blackhole.test.ts": 11,
  "test/integration/gateway-redis-shared-outage.test.ts": 10,
  "test/integration/network-namespaces.test.ts": 9,
});

/**
 * Orders test files heaviest first by {@link FILE_SECONDS}, then by size, the same on every machine: Vitest's own
 * order follows the durations it cached on the last run, which a fresh clone (CI) does not have, and falls back to
 * file size, which put the longest files last. Group order (`sequence.groupOrder`) comes first, as in Vitest's own;
 * sharding is Vitest's own.
 *
 * Files without a weight stay with their project's (the project whose files weigh most first): a worker that
 * finishes a file is handed the next queued one only when that file is of the same project (vitest 4's pool,
 * `isolate: false`), else it exits and a new worker starts, with its own module graph to load. Ordered by size
 * alone, the `suite` and `unit` files of the main group alternated, and a run of those two projects started 34
 * workers, now 14 (the workers' CPU 178 -> 158 s on a 2-core machine whose syscalls are slow).
 */
export default class HeaviestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const keyed = await Promise.all(
      files.map(async (spec) => {
        const path = relative(this.ctx.config.root, spec.moduleId).replaceAll("\\", "/");
        return { spec, path, seconds: FILE_SECONDS[path] ?? 0, size: (await stat(spec.moduleId)).size };
      }),
    );
    const projectSeconds = new Map<string, number>();
    for (const { spec, seconds } of keyed) projectSeconds.set(spec.project.name, Math.max(seconds, projectSeconds.get(spec.project.name) ?? 0));
    const projectOrder = (name: string) => projectSeconds.get(name) ?? 0;
    keyed.sort(
      (a, b) =>
        a.spec.project.config.sequence.groupOrder - b.spec.project.config.sequence.groupOrder ||
        b.seconds - a.seconds ||
        projectOrder(b.spec.project.name) - projectOrder(a.spec.project.name) ||
        (a.spec.project.name < b.spec.project.name ? -1 : a.spec.project.name > b.spec.project.name ? 1 : 0) ||
        b.size - a.size ||
        (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    );
    return keyed.map((k) => k.spec);
  }
}
