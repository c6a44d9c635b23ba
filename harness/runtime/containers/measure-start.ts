/**
 * `npx tsx harness/runtime/containers/measure-start.ts [rounds] [instances]`: time from `ContainerRuntime.start()`
 * to every gateway ready (images already built), min/median/max over rounds, and the teardown time. Last line:
 * one JSON object. The local runtime's figure comes from harness/cli/topology-start.ts.
 */
import { randomBytes } from "node:crypto";
import { ContainerRuntime } from "../container-runtime.js";

const rounds = Number(process.argv[2] ?? 5);
const instances = Number(process.argv[3] ?? 3);

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: Math.round(sorted[0]!), median: Math.round(sorted[Math.floor(sorted.length / 2)]!), max: Math.round(sorted.at(-1)!) };
}

const start: number[] = [];
const stop: number[] = [];
for (let round = 0; round < rounds; round++) {
  let t0 = performance.now();
  const runtime = await new ContainerRuntime({ runId: `measure-${randomBytes(2).toString("hex")}`, instances }).start();
  start.push(performance.now() - t0);
  t0 = performance.now();
  await runtime.stop();
  stop.push(performance.now() - t0);
}
const result = { runtime: "containers", instances, rounds, topology_start_ms: stats(start), teardown_ms: stats(stop) };
process.stdout.write(`containers topology of ${instances} gateways: start min ${result.topology_start_ms.min} ms, median ${result.topology_start_ms.median} ms, max ${result.topology_start_ms.max} ms; teardown median ${result.teardown_ms.median} ms\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
