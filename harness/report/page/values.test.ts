import { describe, expect, it } from "vitest";
import { esc, fmtDuration, fmtOffset, fmtTime, shellQuote, toJson } from "./values.js";

describe("report page values", () => {
  it("should escape markup and quotes", () => {
    expect(esc(`<img src=x onerror="alert('x')">&`)).toBe("&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;");
    expect(esc(undefined)).toBe("undefined");
  });

  it("should format durations, offsets and times", () => {
    expect(fmtDuration(350.4)).toBe("350 ms");
    expect(fmtDuration(12_300)).toBe("12.3 s");
    expect(fmtDuration(185_000)).toBe("3 min 5 s");
    expect(fmtDuration(undefined)).toBe("–");
    expect(fmtOffset(4.4123)).toBe("+4.41 s");
    expect(fmtTime("2026-01-01T00:00:00.000Z")).toBe("2026-01-01 00:00:00.000 UTC");
    expect(fmtTime("x")).toBe("–");
  });

  it("should quote shell words only where needed", () => {
    expect(shellQuote("--seed")).toBe("--seed");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("should cut long JSON and say how much is left", () => {
    expect(toJson({ a: "x".repeat(50) }, 12)).toBe(`{\n  "a": "xx\n… 51 more characters (see run.json)`);
  });
});
