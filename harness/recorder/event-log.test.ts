import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { allEvents } from "../checks/check.js";
import type { RunEvent } from "../events/run-events.js";
import { EventLog, readEventLog } from "./event-log.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Events of several types; the fault's description and detail hold another type's marker, as text and nested. */
const EVENTS = [
  { t: 1, source: "fleet", type: "message_sent", client: "c1", message_id: "m1" },
  { t: 2, source: "fault", type: "fault_start", fault_id: "f1", description: 'a route "type":"message_received"', detail: { type: "message_received" } },
  { t: 3, source: "fleet", type: "message_received", client: "c2", message_id: "m1" },
  { t: 4, source: "probe", type: "lookup_probe", via: "gw-1" },
  { t: 5, source: "fleet", type: "message_received", client: "c3", message_id: "m1" },
  { t: 6, source: "fleet", type: "message_acked", client: "c1", message_id: "m1" },
] as unknown as RunEvent[];

async function collect(events: AsyncIterable<RunEvent>): Promise<number[]> {
  const times: number[] = [];
  for await (const event of events) times.push(event.t);
  return times;
}

async function writtenLog(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "traffic-cop-event-log-"));
  dirs.push(dir);
  const log = new EventLog(join(dir, "events.ndjson"));
  for (const event of EVENTS) log.append(event);
  log.close();
  // A run killed in the middle of a write leaves a cut last line.
  appendFileSync(log.path, '{"t":7,"source":"fleet","type":"message_rec');
  return log.path;
}

describe("readEventLog", () => {
  it("streams every event in file order, skipping a cut last line", async () => {
    expect(await collect(readEventLog(await writtenLog()))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("streams only the events of the types asked for, whatever other fields say", async () => {
    const path = await writtenLog();
    expect(await collect(readEventLog(path, ["message_received"]))).toEqual([3, 5]);
    expect(await collect(readEventLog(path, ["message_sent", "message_acked", "fault_start"]))).toEqual([1, 2, 6]);
    expect(await collect(readEventLog(path, []))).toEqual([]);
  });
});

describe("allEvents", () => {
  it("filters by type alike from the event log and from the events in memory", async () => {
    const path = await writtenLog();
    const fromLog = { events: [], readEvents: (types?: readonly RunEvent["type"][]) => readEventLog(path, types) };
    const inMemory = { events: EVENTS };
    for (const context of [fromLog, inMemory]) {
      expect(await collect(allEvents(context, ["message_received"]))).toEqual([3, 5]);
      expect(await collect(allEvents(context))).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });
});
