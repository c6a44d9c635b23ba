import { describe, expect, it } from "vitest";
import type { RunEvent } from "../run-result.js";
import { filterEvents, sourceMatches } from "./event-filter.js";

/** Event literals as a run.json may hold them: the page reads any shape. */
const asEvents = (events: object[]): RunEvent[] => events as unknown as RunEvent[];


const indexes = (result: { rows: { index: number }[] }) => result.rows.map((r) => r.index);

describe("report page event filter", () => {
  it("should filter events by source, type and text, capped at the limit with the full count", () => {
    const events = asEvents([
      { t: 1, source: "fleet", type: "welcome", client: "c1" },
      { t: 2, source: "fleet", type: "welcome", client: "c2" },
      { t: 3, source: "fault", type: "fault_start", description: "kill GW-1" },
      { t: 4, source: "fleet", type: "disconnect", client: "c1" },
    ]);
    const one = filterEvents(events, { source: "fleet", type: "welcome" }, 1);
    expect(one.total).toBe(2);
    expect(indexes(one)).toEqual([0]);
    expect(indexes(filterEvents(events, { text: "gw-1" }, 10))).toEqual([2]);
    expect(indexes(filterEvents(events, { source: "!fleet" }, 10))).toEqual([2]);
    expect(filterEvents(events, { text: `"c1"` }, 10).total).toBe(2);
    expect(filterEvents([], {}, 10)).toEqual({ rows: [], total: 0 });
    expect(indexes(filterEvents([7, null, ...events], {}, 10))).toEqual([2, 3, 4, 5]);
  });

  it("should match an event's source the same way for the filter and the type counts", () => {
    const fleet = { source: "fleet", type: "welcome" };
    const fault = { source: "fault", type: "fault_start" };
    const bare = { type: "x" };
    const cases: [unknown, string, boolean][] = [
      [fleet, "", true],
      [fleet, "fleet", true],
      [fleet, "fault", false],
      [fleet, "!fleet", false],
      [fault, "!fleet", true],
      [bare, "!fleet", true],
      [bare, "fleet", false],
      [bare, "", true],
      [null, "", false],
      [[fleet], "", false],
      ["fleet", "fleet", false],
    ];
    for (const [event, source, expected] of cases) {
      expect(sourceMatches(event, source), `${JSON.stringify(event)} / ${source}`).toBe(expected);
      expect(filterEvents([event], { source }, 1).total, `${JSON.stringify(event)} / ${source}`).toBe(expected ? 1 : 0);
    }
  });

  it("should build each event's lowercased text once, only when the text filter reaches it, and reuse it", () => {
    const events = asEvents([
      { t: 1, source: "fleet", type: "welcome", client: "C1" },
      { t: 2, source: "fault", type: "fault_start", description: "Kill gw-1" },
      { t: 3, source: "fleet", type: "disconnect", client: "c2" },
    ]);
    const texts: string[] = [];
    // No text: nothing is built.
    expect(filterEvents(events, { source: "fleet" }, 10, texts).total).toBe(2);
    expect(texts).toEqual([]);
    // Only the events past the source filter are built.
    expect(indexes(filterEvents(events, { source: "fleet", text: "c1" }, 10, texts))).toEqual([0]);
    expect(texts[0]).toBe(JSON.stringify(events[0]).toLowerCase());
    expect(texts[1]).toBeUndefined();
    expect(texts[2]).toBe(JSON.stringify(events[2]).toLowerCase());
    // A later call reads the cached text instead of serialising again.
    texts[2] = "planted";
    expect(indexes(filterEvents(events, { text: "PLANTED" }, 10, texts))).toEqual([2]);
    expect(indexes(filterEvents(events, { text: "KILL GW" }, 10, texts))).toEqual([1]);
    expect(texts[1]).toBe(JSON.stringify(events[1]).toLowerCase());
    expect(filterEvents(events, { text: "kill gw" }, 10)).toEqual(filterEvents(events, { text: "kill gw" }, 10, []));
  });
});
