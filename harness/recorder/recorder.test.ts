import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import { EVENT_LOG_BUFFER_BYTES, EVENT_LOG_FILE } from "./event-log.js";
import { Recorder } from "./recorder.js";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "recorder-test-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sent = (i: number) => ({ t: 1_000 + i, type: "message_sent" as const, client: `c${i % 7}`, worker: 0, session_id: "s1", message_id: `m0-${i}`, to: { agent_type: "a" } });

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("Recorder", () => {
  it("should write every event to the NDJSON log as it happens and keep only the bounded part in memory", async () => {
    const path = join(tempDir(), EVENT_LOG_FILE);
    const recorder = new Recorder(undefined, { eventLogPath: path, messageEventsInMemory: 10 });
    const seen: RunEvent[] = [];
    recorder.subscribe((event) => seen.push(event));
    recorder.startPhase("ramp");
    for (let i = 0; i < 25; i++) recorder.recordFleet(sent(i));
    recorder.recordFleet({ t: 2_000, type: "welcome", client: "c1", worker: 0, session_id: "s1", tenant_id: "t1", target: "ws://x", resumed: false, latency_ms: 3 });
    expect(recorder.events.filter((e) => e.type === "message_sent")).toHaveLength(10);
    expect(recorder.eventsOmitted).toBe(15);
    expect(recorder.events.at(-1)?.type).toBe("welcome");
    expect(recorder.eventCount).toBe(27);
    expect(seen).toHaveLength(27);
    const streamed = await collect(recorder.readEvents());
    expect(streamed).toHaveLength(27);
    expect(streamed.filter((e) => e.type === "message_sent").map((e) => (e as { message_id: string }).message_id)).toEqual(Array.from({ length: 25 }, (_, i) => `m0-${i}`));
    recorder.closeEventLog();
    recorder.closeEventLog();
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(27);
  });

  it("should write the buffer once it is full, without waiting for a flush", () => {
    const path = join(tempDir(), EVENT_LOG_FILE);
    const recorder = new Recorder(undefined, { eventLogPath: path });
    const perEvent = JSON.stringify({ ...sent(0), source: "fleet" }).length + 1;
    const n = Math.ceil(EVENT_LOG_BUFFER_BYTES / perEvent) + 10;
    for (let i = 0; i < n; i++) recorder.recordFleet(sent(i));
    expect(readFileSync(path).length).toBeGreaterThanOrEqual(EVENT_LOG_BUFFER_BYTES);
    recorder.closeEventLog();
  });

  it("should keep every event in memory and stream them from there without a log", async () => {
    const recorder = new Recorder(undefined, { messageEventsInMemory: 1 });
    for (let i = 0; i < 5; i++) recorder.recordFleet(sent(i));
    expect(recorder.events).toHaveLength(5);
    expect(recorder.eventsOmitted).toBe(0);
    expect(await collect(recorder.readEvents())).toHaveLength(5);
  });
});
