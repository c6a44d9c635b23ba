import { describe, expect, it } from "vitest";
import { embedJson, renderHtml } from "./html-reporter.js";
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
    expect(html).not.toMatch(/\b(src|href)=|@import|url\((?!#)|https?:\/\//);
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
