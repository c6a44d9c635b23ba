import { describe, expect, it } from "vitest";
import type { RunEvent } from "../events/run-events.js";
import { compareCounters, compareSeriesDeltas, readCounters, readCounterSeries, seriesName, tallyFleet, type FleetTallies } from "./metrics-counters.js";

const page = (lines: string[]) => `${lines.join("\n")}\n`;

/** Fleet events of one run, in order: `t` and `worker` do not matter to the tally. */
function fleet(events: Record<string, unknown>[]): RunEvent[] {
  return events.map((event, i) => ({ t: i, worker: 0, source: "fleet", ...event }) as unknown as RunEvent);
}

const welcome = (client: string, instance: string, target = `ws://127.0.0.1:${instance.slice(-1)}000`) => ({ type: "welcome", client, instance_id: instance, target, session_id: "s", tenant_id: "t", resumed: false, latency_ms: 1 });

describe("metrics-agree's counters", () => {
  it("should read the judged counters by their labels, keep a declared counter without series at 0, and ignore the rest", () => {
    const counters = readCounters(
      page([
        "# TYPE traffic_cop_registrations_total counter",
        'traffic_cop_registrations_total{kind="new"} 7',
        'traffic_cop_registrations_total{kind="resume"} 2',
        'traffic_cop_registrations_total{kind="reconcile"} 50',
        'traffic_cop_route_requests_total{origin="ws"} 11',
        'traffic_cop_route_requests_total{origin="http"} 4',
        'traffic_cop_routes_total{path="local"} 3',
        'traffic_cop_routes_total{path="remote"} 5\r',
        'traffic_cop_errors_total{code="RATE_LIMITED"} 2',
        'traffic_cop_errors_total{code="<b>\\"x\\""} 1',
        "traffic_cop_errors_total{code=} 9",
        'traffic_cop_upgrades_refused_total{status="503"} NaN',
        "traffic_cop_routes_total_other 100",
      ]),
    );
    expect(counters).toEqual({ registrations: 9, routeRequestsWs: 11, routeRequestsHttp: 4, routes: 8, errors: { RATE_LIMITED: 2, '<b>"x"': 1 }, upgradesRefused: {} });
    expect(readCounters(page(["# HELP traffic_cop_routes_total Messages delivered."]))).toEqual({ routes: 0 });
    expect(readCounters(page(['traffic_cop_route_requests_total{origin="ws"} 2']))).toEqual({ routeRequestsWs: 2, routeRequestsHttp: 0 });
    expect(readCounters(page(["traffic_cop_connections 3", "other_total 1"]))).toEqual({});
  });

  it("should credit each ack, error frame and refusal only to the instance that certainly answered it", async () => {
    const events = fleet([
      welcome("c1", "gw-1"),
      welcome("c2", "gw-2"),
      { type: "message_sent", client: "c1", message_id: "m0-1", instance_id: "gw-1", session_id: "s", to: {} },
      { type: "message_sent", client: "c1", message_id: "m0-2", instance_id: "gw-1", session_id: "s", to: {} },
      { type: "message_acked", client: "c1", message_id: "m0-1", delivered: 3 },
      // Acked twice or never sent: the second and the stranger are no one's.
      { type: "message_acked", client: "c1", message_id: "m0-1", delivered: 3 },
      { type: "message_acked", client: "c1", message_id: "probe-9", delivered: 1 },
      { type: "message_error", client: "c1", message_id: "m0-2", code: "RATE_LIMITED", message: "" },
      // The fleet's own give-up is no gateway's error.
      { type: "message_error", client: "c2", code: "FLEET_SOCKET_CLOSED", message: "" },
      { type: "message_error", client: "c2", code: "INVALID_FRAME", message: "" },
      // c2 moves: while it holds two sockets an error naming no route is no one's; after the old one closes it is gw-3's.
      welcome("c2", "gw-3"),
      { type: "message_error", client: "c2", code: "INVALID_FRAME", message: "" },
      { type: "disconnect", client: "c2", instance_id: "gw-2", session_id: "s", close_code: 1000, reason: "", expected: true },
      { type: "message_error", client: "c2", code: "INVALID_FRAME", message: "" },
      // Refusals: by the target's one instance; a target that led to two instances is left out.
      { type: "connect_error", client: "c3", session_id: "s", target: "ws://127.0.0.1:1000", reason: "HTTP_STATUS", status: 503, status_text: "REGISTRY_UNAVAILABLE" },
      { type: "connect_error", client: "c3", session_id: "s", target: "ws://127.0.0.1:1000", reason: "HTTP_STATUS", status: 503 },
      { type: "connect_error", client: "c3", session_id: "s", target: "ws://127.0.0.1:1000", reason: "ECONNREFUSED" },
      // The harness's HTTP loads: route posts answered 2xx count for the instance flooded; lookups do not.
      { source: "probe", type: "http_load", endpoint: "route", by_instance: [{ instance: "gw-1", ok: 7 }, { instance: "gw-2", ok: "7" }] },
      { source: "probe", type: "http_load", endpoint: "lookup", by_instance: [{ instance: "gw-1", ok: 50 }] },
      welcome("c4", "gw-4", "ws://lb"),
      welcome("c5", "gw-5", "ws://lb"),
      { type: "connect_error", client: "c6", session_id: "s", target: "ws://lb", reason: "HTTP_STATUS", status: 503, status_text: "DRAINING" },
    ]);
    const tallies = await tallyFleet({ events });
    expect(Object.fromEntries(tallies.byInstance)).toEqual({
      "gw-1": { welcomes: 1, routesAcked: 1, delivered: 3, httpRoutesOk: 7, errorFrames: { RATE_LIMITED: 1 }, refusalsByCode: { REGISTRY_UNAVAILABLE: 1 }, refusalsByStatus: { "503": 2 } },
      "gw-2": { welcomes: 1, routesAcked: 0, delivered: 0, httpRoutesOk: 0, errorFrames: { INVALID_FRAME: 1 }, refusalsByCode: {}, refusalsByStatus: {} },
      "gw-3": { welcomes: 1, routesAcked: 0, delivered: 0, httpRoutesOk: 0, errorFrames: { INVALID_FRAME: 1 }, refusalsByCode: {}, refusalsByStatus: {} },
      "gw-4": { welcomes: 1, routesAcked: 0, delivered: 0, httpRoutesOk: 0, errorFrames: {}, refusalsByCode: {}, refusalsByStatus: {} },
      "gw-5": { welcomes: 1, routesAcked: 0, delivered: 0, httpRoutesOk: 0, errorFrames: {}, refusalsByCode: {}, refusalsByStatus: {} },
    });
    expect(tallies.restarted.size).toBe(0);
  });

  it("should leave out instances whose process stopped, exited or started again, and keep one woken from a pause", async () => {
    const process = (target: string, state: string) => ({ t: 0, source: "process", type: "process_state", target, state }) as unknown as RunEvent;
    const events = [
      process("gw-1", "started"),
      process("gw-2", "started"),
      process("gw-3", "started"),
      process("gw-4", "started"),
      // gw-1: paused and woken, the same process.
      process("gw-1", "paused"),
      process("gw-1", "started"),
      process("gw-2", "exited"),
      process("gw-3", "stopping"),
      process("gw-4", "started"),
      process("gw-5", "start_failure"),
    ];
    expect([...(await tallyFleet({ events })).restarted].sort()).toEqual(["gw-2", "gw-3", "gw-4", "gw-5"]);
  });

  it("should find every counter below its floor, and judge only the counters a page has on instances that never restarted", () => {
    const tally = { welcomes: 5, routesAcked: 4, delivered: 9, httpRoutesOk: 3, errorFrames: { RATE_LIMITED: 2 }, refusalsByCode: { REGISTRY_UNAVAILABLE: 1 }, refusalsByStatus: { "503": 1 } };
    const tallies: FleetTallies = { byInstance: new Map([["gw-1", tally], ["gw-2", tally], ["gw-3", tally], ["gw-4", tally]]), restarted: new Set(["gw-3"]) };
    const truthful = { registrations: 6, routeRequestsWs: 4, routeRequestsHttp: 3, routes: 9, errors: { RATE_LIMITED: 2, REGISTRY_UNAVAILABLE: 1 }, upgradesRefused: { "503": 1 } };
    expect(compareCounters(tallies, { "gw-1": truthful, "gw-2": truthful })).toEqual({ shortfalls: [], judged: ["gw-1", "gw-2"] });
    const { shortfalls, judged } = compareCounters(tallies, {
      "gw-1": { registrations: 4, routeRequestsWs: 3, routeRequestsHttp: 2, routes: 8, errors: { RATE_LIMITED: 1 }, upgradesRefused: {} },
      // Restarted: its counters began again. gw-4: a page with none of the counters. gw-5: did not answer.
      "gw-3": { registrations: 0 },
      "gw-4": {},
      "gw-5": undefined,
    });
    expect(judged).toEqual(["gw-1"]);
    expect(shortfalls).toEqual([
      { instance: "gw-1", counter: 'traffic_cop_registrations_total{kind=~"new|resume"}', harness_saw: 5, reported: 4 },
      { instance: "gw-1", counter: 'traffic_cop_route_requests_total{origin="ws"}', harness_saw: 4, reported: 3 },
      { instance: "gw-1", counter: 'traffic_cop_route_requests_total{origin="http"}', harness_saw: 3, reported: 2 },
      { instance: "gw-1", counter: "traffic_cop_routes_total", harness_saw: 9, reported: 8 },
      { instance: "gw-1", counter: 'traffic_cop_errors_total{code="RATE_LIMITED"}', harness_saw: 2, reported: 1 },
      { instance: "gw-1", counter: 'traffic_cop_errors_total{code="REGISTRY_UNAVAILABLE"}', harness_saw: 1, reported: 0 },
      { instance: "gw-1", counter: 'traffic_cop_upgrades_refused_total{status="503"}', harness_saw: 1, reported: 0 },
    ]);
    // A page with only some of the counters is judged on those.
    expect(compareCounters(tallies, { "gw-1": { routes: 1 } }).shortfalls.map((s) => s.counter)).toEqual(["traffic_cop_routes_total"]);
  });

  it("should read the judged counters series by series, summed over other labels, ignoring hostile and malformed lines", () => {
    const series = readCounterSeries(
      page([
        "# TYPE traffic_cop_upgrades_refused_total counter",
        'traffic_cop_registrations_total{kind="new",extra="1"} 2',
        'traffic_cop_registrations_total{extra="2",kind="new"} 3',
        'traffic_cop_registrations_total{kind="resume"} 1\r',
        'traffic_cop_routes_total{path="local"} NaN',
        "traffic_cop_routes_total 7",
        'traffic_cop_errors_total{code="a\\"b"} 4',
        'traffic_cop_errors_total{code=} 9',
        'traffic_cop_connections{tenant="t"} 5',
        "traffic_cop_unregistrations_total 6",
      ]),
    );
    expect([...series.declared].sort()).toEqual([
      "traffic_cop_errors_total",
      "traffic_cop_registrations_total",
      "traffic_cop_routes_total",
      "traffic_cop_unregistrations_total",
      "traffic_cop_upgrades_refused_total",
    ]);
    expect(Object.fromEntries(series.values)).toEqual({
      [seriesName("traffic_cop_registrations_total", "new")]: 5,
      [seriesName("traffic_cop_registrations_total", "resume")]: 1,
      [seriesName("traffic_cop_errors_total", 'a"b')]: 4,
      // Unlabelled: the series is the counter.
      traffic_cop_unregistrations_total: 6,
    });
    expect(seriesName("traffic_cop_errors_total", 'a"b')).toBe('traffic_cop_errors_total{code="a\\"b"}');
  });

  it("should judge every series of the counters both readings have: exactly the expected change, 0 where none is expected", () => {
    const before = readCounterSeries(page(['traffic_cop_registrations_total{kind="new"} 10', 'traffic_cop_errors_total{code="X"} 1', "# TYPE traffic_cop_routes_total counter"]));
    const after = readCounterSeries(
      page(['traffic_cop_registrations_total{kind="new"} 12', 'traffic_cop_registrations_total{kind="resume"} 1', 'traffic_cop_errors_total{code="X"} 2', 'traffic_cop_routes_total{path="local"} 1'])
    );
    const expected = new Map([
      [seriesName("traffic_cop_registrations_total", "new"), 2],
      [seriesName("traffic_cop_registrations_total", "resume"), 1],
      [seriesName("traffic_cop_routes_total", "remote"), 1],
      // Not on either page: a counter the SUT lacks is not judged.
      [seriesName("traffic_cop_upgrades_refused_total", "401"), 1],
    ]);
    expect(compareSeriesDeltas("gw-1", before, after, expected)).toEqual([
      { instance: "gw-1", series: 'traffic_cop_errors_total{code="X"}', expected: 0, changed_by: 1 },
      { instance: "gw-1", series: 'traffic_cop_routes_total{path="local"}', expected: 0, changed_by: 1 },
      { instance: "gw-1", series: 'traffic_cop_routes_total{path="remote"}', expected: 1, changed_by: 0 },
    ]);
    expect(compareSeriesDeltas("gw-1", before, before, new Map())).toEqual([]);
  });
});
