import { describe, expect, it } from "vitest";
import type { CheckResult, RunEvent } from "../run-result.js";
import { renderChecks, sortChecks } from "./checks-section.js";
import { renderConfig } from "./config-section.js";
import { countLine, eventRow, eventSubject } from "./events-section.js";
import { renderHeader } from "./header-section.js";
import { section } from "./main.js";
import { niceTicks } from "./svg.js";

const HOSTILE = `<img src=x onerror="alert(1)">`;

describe("report page sections", () => {
  it("should put failed checks first and keep the recorded order otherwise", () => {
    const checks = [{ name: "a", pass: true }, { name: "b", pass: false }, { name: "c" }, { name: "d", pass: true }] as CheckResult[];
    expect(sortChecks(checks).map((c) => c.name)).toEqual(["b", "c", "a", "d"]);
  });

  it("should render check names, values and evidence as text", () => {
    const html = renderChecks({ checks: [{ name: HOSTILE, pass: false, expected: { a: HOSTILE }, actual: HOSTILE, evidence: [HOSTILE] }] });
    expect(html).not.toContain("<img");
    expect(html.match(/&lt;img src=x/g)).toHaveLength(5);
    expect(html).toContain(`<details class="evidence" open>`);
  });

  it("should link each instance's log written beside the page, and nothing else", () => {
    const instances = ["gw-1", "gw-2", "gw-3", "gw-4"].map((id) => ({ id, port: 1, http: "h", proxies: [] }));
    const html = renderConfig({
      topology: { instances, instance_logs: { "gw-1": "instances/gw-1.log", "gw-2": "../../etc/passwd", "gw-3": `instances/${HOSTILE}.log` } },
    });
    expect(html).toContain(`<td><a href="instances/gw-1.log">gw-1.log</a></td>`);
    expect(html.match(/<a href=/g)).toHaveLength(1);
    expect(html).not.toContain("<img");
    // gw-4 printed nothing: no file, no link.
    expect(html).toContain("<tr><td>gw-4</td><td>1</td><td>h</td><td></td><td>–</td></tr>");
  });

  it("should render an event row as text, tinting failures", () => {
    const e = { t: 2_500, source: "fleet", type: "message_error", client: HOSTILE, instance_id: "gw-1", code: HOSTILE } as unknown as RunEvent;
    const row = eventRow(e, 1_000);
    expect(row).not.toContain("<img");
    expect(row).toMatch(/^<tr class="bad"><td>\+1\.50 s<\/td><td>fleet<\/td><td>message_error<\/td>/);
    expect(eventSubject({ t: 1, source: "fault", type: "fault_start", targets: ["gw-1", "gw-2"], phase: "load" } as unknown as RunEvent)).toBe("gw-1,gw-2 load");
    expect(countLine(500, 700, 900)).toBe("Showing the first 500 of 700 matching events (900 in all); narrow the filter to see others.");
    expect(countLine(1, 1, 9)).toBe("1 matching event (9 in all).");
  });

  it("should name the system under test by what ran: its command locally, its image on containers, as text", () => {
    const sut = { name: HOSTILE, command: "/opt/gw/bin/server", args: ["--listen", HOSTILE], image: `acme/${HOSTILE}` };
    const local = renderHeader({ config: { runtime: "local", sut } });
    const containers = renderHeader({ config: { runtime: "containers", sut } });
    const reference = renderHeader({ config: { runtime: "containers", sut: { name: "reference", command: "${NODE}", image: null } } });
    for (const html of [local, containers]) expect(html).not.toContain("<img");
    expect(local).toContain("— /opt/gw/bin/server --listen &lt;img");
    expect(containers).toContain("— image acme/&lt;img");
    expect(containers).not.toContain("/opt/gw/bin/server");
    expect(reference).toMatch(/<dd>reference<\/dd>/);
  });

  it("should show a section's error in place and record it", () => {
    const errors: string[] = [];
    const html = section("checks", () => {
      throw new Error(`renderer bug ${HOSTILE}`);
    }, errors);
    expect(html).toContain("This section could not be rendered: Error: renderer bug &lt;img");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^checks: Error: renderer bug/);
    expect(section("baseline", () => "", errors)).toBe("");
  });

  it("should choose round ticks", () => {
    expect(niceTicks(0, 21.3, 10)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(niceTicks(0, 0, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});
