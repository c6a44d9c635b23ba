/**
 * A large run written to disk without running it: run.json and events.ndjson shaped as the engine writes them for a
 * long release run (every client connecting, one instance killed and its clients resuming elsewhere, routes acked
 * and delivered all along, per-second samples with gateway metrics). For the report's size and open-time bounds.
 */
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import type { RunEvent } from "../../harness/events/run-events.js";
import { EVENT_LOG_FILE } from "../../harness/recorder/event-log.js";
import { MESSAGE_EVENTS_IN_MEMORY } from "../../harness/recorder/recorder.js";
import { RUN_RESULT_SCHEMA_VERSION, type RunResult, type Sample } from "../../harness/report/run-result.js";

/** Size of the synthetic run. */
export interface SyntheticRunOptions {
  clients: number;
  durationS: number;
  instances: number;
  /** Routes per second (each acked and received once). */
  routesPerSecond: number;
}

/** Writes `run.json` and `events.ndjson` of a synthetic run into `dir`; returns the run. */
export async function writeSyntheticRun(dir: string, options: SyntheticRunOptions): Promise<RunResult> {
  await mkdir(dir, { recursive: true });
  const t0 = Date.UTC(2026, 11, 3, 8, 0, 0);
  const t1 = t0 + options.durationS * 1_000;
  const instances = Array.from({ length: options.instances }, (_, i) => `gw-${i + 1}`);
  const kept: RunEvent[] = [];
  let total = 0;
  let omitted = 0;
  let messagesKept = 0;
  const log = createWriteStream(join(dir, EVENT_LOG_FILE));
  const add = async (event: RunEvent) => {
    total++;
    if (event.source === "fleet" && event.type.startsWith("message_")) {
      if (messagesKept >= MESSAGE_EVENTS_IN_MEMORY) omitted++;
      else {
        messagesKept++;
        kept.push(event);
      }
    } else kept.push(event);
    if (!log.write(`${JSON.stringify(event)}\n`)) await once(log, "drain");
  };
  await add({ t: t0, source: "engine", type: "run_start", run_id: "synthetic", seed: 1, swept_orphans: [] });
  await add({ t: t0, source: "phase", type: "phase_start", phase: "ramp" });
  const rampMs = 20_000;
  const instanceOf = (c: number) => instances[c % instances.length]!;
  for (let c = 0; c < options.clients; c++) {
    const t = t0 + Math.floor((c / options.clients) * rampMs);
    const base = { client: `c${c}`, worker: c % 4, session_id: `s${c >> 2}`, tenant_id: `t${c % 3}`, target: `ws://127.0.0.1:${9000 + (c % instances.length)}` };
    await add({ t, source: "fleet", type: "connect_attempt", ...base, attempt: 0 });
    await add({ t: t + 5, source: "fleet", type: "welcome", ...base, resumed: false, latency_ms: 5 + (c % 40), websocket_id: `w${c}`, instance_id: instanceOf(c), agent_type: "agent", pillar: "p" });
  }
  const killAt = t0 + Math.floor(options.durationS * 500);
  await add({ t: killAt, source: "fault", type: "fault_start", fault_id: "f1", kind: "kill_instance", targets: [instances[0]!], description: `kill -9 ${instances[0]}` });
  await add({ t: killAt + 10, source: "process", type: "process_state", target: instances[0]!, state: "exited" });
  for (let c = 0; c < options.clients; c += instances.length) {
    const base = { client: `c${c}`, worker: c % 4, session_id: `s${c >> 2}` };
    await add({ t: killAt + 20, source: "fleet", type: "disconnect", ...base, close_code: 1006, reason: "", expected: false, websocket_id: `w${c}`, instance_id: instances[0]! });
    await add({ t: killAt + 300, source: "fleet", type: "welcome", ...base, tenant_id: `t${c % 3}`, target: "ws://127.0.0.1:9001", resumed: true, latency_ms: 40, websocket_id: `w${c}`, instance_id: instances[1]!, agent_type: "agent", pillar: "p" });
  }
  await add({ t: killAt + 2_000, source: "fault", type: "fault_end", fault_id: "f1", kind: "kill_instance", targets: [instances[0]!], description: `kill -9 ${instances[0]}`, ok: true, duration_ms: 2_000 });
  let m = 0;
  for (let s = 20; s < options.durationS; s++) {
    for (let r = 0; r < options.routesPerSecond; r++, m++) {
      const t = t0 + s * 1_000 + Math.floor((r / options.routesPerSecond) * 1_000);
      const c = (m * 7) % options.clients;
      const slow = t >= killAt && t < killAt + 2_000 ? 200 : 0;
      const id = `m${c % 4}-${m}`;
      await add({ t, source: "fleet", type: "message_sent", client: `c${c}`, worker: c % 4, session_id: `s${c >> 2}`, message_id: id, to: { agent_type: "agent" }, websocket_id: `w${c}` });
      await add({ t: t + 2 + slow, source: "fleet", type: "message_acked", client: `c${c}`, worker: c % 4, message_id: id, delivered: 1, latency_ms: 2 + (m % 9) + slow });
      await add({ t: t + 3 + slow, source: "fleet", type: "message_received", client: `c${c ^ 1}`, worker: c % 4, message_id: id, session_id: `s${c >> 2}`, websocket_id: `w${c ^ 1}`, latency_ms: 3 + (m % 11) + slow });
    }
  }
  await add({ t: t1, source: "phase", type: "phase_end", phase: "ramp" });
  log.end();
  await once(log, "finish");
  const samples: Sample[] = [];
  for (let s = 0; s <= options.durationS; s++) {
    const connected = Math.min(options.clients, Math.floor((s * 1_000 * options.clients) / rampMs));
    const byInstance = Object.fromEntries(instances.map((id) => [id, Math.floor(connected / instances.length)]));
    samples.push({
      t: t0 + s * 1_000,
      elapsed_ms: s * 1_000,
      phase: "ramp",
      fleet: { connected, by_instance: byInstance, reconnecting: 0, pending: 3, messages: { sent: s * options.routesPerSecond, acked: s * options.routesPerSecond, received: s * options.routesPerSecond, errors: 0, delivered: s * options.routesPerSecond }, latency: { ack: { count: s, p50: 3, p90: 6, p99: 9, max: 12 } } },
      rates: { sent: options.routesPerSecond, acked: options.routesPerSecond, received: options.routesPerSecond, errors: 0 },
      registry: { records: connected, session_index_members: connected, agent_type_index_members: connected, pillar_index_members: connected, reverse_keys: connected, by_instance: byInstance },
      redis_ping_ms: 0.2,
      gateways: Object.fromEntries(instances.map((id) => [id, { up: true, metrics: Object.fromEntries(Array.from({ length: 30 }, (_, k) => [`traffic_cop_series_${k}{instance="${id}"}`, s * k])) }])),
      active_faults: [],
    });
  }
  const run: RunResult = {
    schema_version: RUN_RESULT_SCHEMA_VERSION,
    run_id: "synthetic-long-run",
    scenario: "restart",
    description: "synthetic long release run",
    status: "passed",
    exit_code: 0,
    started_at: new Date(t0).toISOString(),
    ended_at: new Date(t1).toISOString(),
    duration_ms: t1 - t0,
    seed: 1,
    profile: "release",
    config: { clients: options.clients, instances: options.instances },
    topology: { instances: instances.map((id) => ({ id })) },
    plan: [],
    phases: [{ name: "ramp", start: t0, end: t1 }],
    events: kept,
    event_log: { file: EVENT_LOG_FILE, events: total, omitted },
    samples,
    checks: [{ name: "delivery", pass: true, expected: {}, actual: { sent: m }, evidence: {} }],
  };
  await writeFile(join(dir, "run.json"), `${JSON.stringify(run)}\n`);
  return run;
}
