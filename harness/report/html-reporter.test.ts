import { describe, expect, it } from "vitest";
import { embedJson, renderHtml } from "./html-reporter.js";

describe("embedJson", () => {
  it("should leave no way to close the script element and keep the data equal", () => {
    const data = { a: "</script><script>alert(1)</script>", b: "<!-- x", c: "line\u2028separator\u2029", d: [1, "<"] };
    const embedded = embedJson(JSON.stringify(data));
    expect(embedded).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(embedded)).toEqual(data);
  });
});

describe("renderHtml", () => {
  it("should embed the data once and load nothing from elsewhere", () => {
    const html = renderHtml(JSON.stringify({ run_id: "r</script>1" }));
    expect(html).toContain(`<script type="application/json" id="run-data">{"run_id":"r\\u003c/script>1"}</script>`);
    expect(html).not.toMatch(/\b(src|href)=|@import|url\((?!#)/);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
