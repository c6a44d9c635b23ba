import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { writeSyntheticRun } from "../../test/helpers/synthetic-run.js";
import { embedJson, HtmlReporter, renderHtml, renderPage } from "./html-reporter.js";
import { writeRunJson } from "./json-reporter.js";
import { JunitReporter, renderJunit } from "./junit-reporter.js";
import type { RunResult } from "./run-result.js";
import { escapeInlineScript, pageAssets } from "./page-bundle.js";

describe("embedJson", () => {
  it("should leave no way to close the script element and keep the data equal", () => {
    const data = { a: "</script><script>alert(1)</script>", b: "<!-- x", c: "line\u2028separator\u2029", d: [1, "<"] };
    const embedded = embedJson(JSON.stringify(data));
    expect(embedded).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(embedded)).toEqual(data);
  });
});

describe("escapeInlineScript", () => {
  it("should escape what could end the script element and keep the script's meaning", () => {
    const code = `var a = "</script><!-- x"; var b = /<\\/SCRIPT>/u.test("</SCRIPT>"); var c = "<!--".length;`;
    const escaped = escapeInlineScript(code);
    expect(escaped).not.toMatch(/<\/script|<!--/i);
    const run = (source: string) => new Function(`${source}; return [a, b, c];`)();
    expect(run(escaped)).toEqual(run(code));
  });
});

describe("renderHtml", () => {
  it("should embed the data once and load nothing from elsewhere", async () => {
    const html = await renderHtml(JSON.stringify({ run_id: "r</script>1" }));
    expect(html).toContain(`<script type="application/json" id="run-data">{"run_id":"r\\u003c/script>1"}</script>`);
    // One link, written by the script: to an instance's log beside the page (config-section.ts), which loads nothing.
    const logLinks = html.match(/<a href="\$\{/g) ?? [];
    expect(logLinks).toHaveLength(1);
    expect(html.replace('<a href="${', "")).not.toMatch(/\b(src|href)=|@import|url\((?!#)|https?:\/\//);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    expect(html).not.toContain("<!--");
  });

  it("should bundle the page's script once per process", async () => {
    const first = pageAssets();
    expect(pageAssets()).toBe(first);
    const { script, chartStyle } = await first;
    expect(script).toContain("report-status");
    expect(chartStyle).toContain(".uplot");
    const html = await renderHtml("{}");
    expect(html).toContain(script);
    expect(html).toContain(chartStyle);
  });
});

describe("HtmlReporter", () => {
  it("should render from the record in memory exactly the page and JUnit file run.json read back gives", async () => {
    const dir = await mkdtemp(join(tmpdir(), "traffic-cop-html-reporter-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const run = await writeSyntheticRun(dir, { clients: 400, durationS: 30, instances: 3, routesPerSecond: 20 });
    // What a record may hold that JSON does not keep as it is: NaN and infinities, undefined members and elements,
    // -0, a Date, in checks, samples and events alike.
    const odd = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, minus: Number.NEGATIVE_INFINITY, zero: -0, none: undefined, list: [undefined, 1], when: new Date(0) };
    const record = {
      ...run,
      extra: undefined,
      checks: [...run.checks, { name: "odd", pass: false, expected: odd, actual: odd, evidence: odd, duration_ms: Number.NaN }],
      samples: run.samples.map((sample, i) => (i % 3 === 0 ? { ...sample, odd } : sample)),
      events: run.events.map((event, i) => (i % 50 === 0 ? { ...event, odd } : event)),
    } as unknown as RunResult;
    await writeRunJson(join(dir, "run.json"), record);
    const readBack = JSON.parse(await readFile(join(dir, "run.json"), "utf8")) as RunResult;
    const [file] = await new HtmlReporter(dir).onRunEnd(record);
    const page = await readFile(file!, "utf8");
    expect(page).toContain("c399");
    expect(page === (await renderPage(readBack, dir))).toBe(true);
    const [junit] = await new JunitReporter(dir).onRunEnd(record);
    expect(await readFile(junit!, "utf8")).toBe(renderJunit(readBack));
  });
});
