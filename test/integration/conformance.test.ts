import { describe, expect, it } from "vitest";
import type { ConformancePromise } from "../../harness/events/run-events.js";
import type { RunResult } from "../../harness/report/run-result.js";
import scenario, { conformanceScenario, type ConformancePart } from "../fixtures/conformance-scenario.js";
import { checkOf, expectFailedBy, runCiScenario, type NegativeControl } from "../helpers/scenario-run.js";

const SEED = 11;

/**
 * Each negative control, the promise of `protocol-conformance` it breaks, the failed `path: form` to expect, and the
 * part of the fixture that probes that promise: a control runs only that part (the check judges the promises a run
 * probed), which leaves out the others' Redis black hole and rolling deploy, most of a whole run's time. The run
 * without a control above probes every part.
 */
const CONTROLS: { control: NegativeControl; promise: ConformancePromise; failed: string; part: ConformancePart }[] = [
  { control: { defects: "ready-lies" }, promise: "readyz-reflects-redis", failed: "none: readyz", part: "degraded" },
  { control: { defects: "no-fail-fast" }, promise: "registry-unavailable-fails-fast", failed: "remote: http_lookup_connection", part: "degraded" },
  { control: { defects: "welcome-before-write" }, promise: "welcome-after-write", failed: "remote: http_lookup_connection", part: "static" },
  { control: { defects: "no-tenant-check-ws-id" }, promise: "tenant-isolation", failed: "remote: ws:route_ws_websocket_id", part: "static" },
  { control: { defects: "no-tenant-check-http-lookup" }, promise: "tenant-isolation", failed: "local: http:connection_lookup", part: "static" },
  { control: { defects: "no-drain-notice" }, promise: "drain-notice", failed: "none: drain_close", part: "drain" },
  { control: { defects: "resume-new-id-after-expiry" }, promise: "resume-keeps-id", failed: "remote: resume_missing_record", part: "static" },
  { control: { defects: "echo-sender" }, promise: "sender-excluded", failed: "remote: ws_route_session", part: "static" },
  { control: { defects: "ignore-nbf" }, promise: "nbf-refused", failed: "none: upgrade", part: "inputs" },
  { control: { defects: "accept-expired" }, promise: "bad-tokens-refused", failed: "none: http_expired", part: "inputs" },
  { control: { defects: "accept-alg-none" }, promise: "bad-tokens-refused", failed: "none: upgrade_alg_none", part: "inputs" },
  { control: { defects: "no-session-pin" }, promise: "bad-tokens-refused", failed: "none: upgrade_pinned_session", part: "inputs" },
  { control: { defects: "close-on-bad-frame" }, promise: "bad-frames-answered", failed: "none: open_after", part: "inputs" },
  { control: { defects: "silent-rate-limit" }, promise: "bad-frames-answered", failed: "none: rate_limited", part: "inputs" },
  { control: { registry: "memory" }, promise: "welcome-after-write", failed: "remote: http_lookup_connection", part: "static" },
];

interface PromiseResult {
  pass: boolean;
  attempts: Record<"local" | "remote" | "none", number>;
  failed: string[];
  not_exercised?: string;
}

function promisesOf(result: RunResult): Record<string, PromiseResult> {
  return (checkOf(result, "protocol-conformance").actual as { promises: Record<string, PromiseResult> }).promises;
}

describe.sequential("protocol-conformance against the reference gateway", { timeout: 120_000 }, () => {
  it("should pass every promise on every path without a negative control", async () => {
    const result = await runCiScenario(scenario, { seed: SEED });
    const check = checkOf(result, "protocol-conformance");
    expect(check.pass, JSON.stringify({ actual: check.actual, evidence: check.evidence }, null, 1)).toBe(true);
    const promises = promisesOf(result);
    expect(Object.keys(promises).sort()).toEqual(
      ["bad-frames-answered", "bad-tokens-refused", "drain-notice", "nbf-refused", "readyz-reflects-redis", "registry-unavailable-fails-fast", "resume-keeps-id", "sender-excluded", "tenant-isolation", "welcome-after-write"],
    );
    for (const name of ["welcome-after-write", "sender-excluded", "resume-keeps-id", "registry-unavailable-fails-fast", "tenant-isolation"]) {
      expect(promises[name]!.attempts.local, name).toBeGreaterThan(0);
      expect(promises[name]!.attempts.remote, name).toBeGreaterThan(0);
    }
    // Both instances were drained with a witness each, and both were cut off from Redis.
    expect(promises["drain-notice"]!.attempts.none).toBe(2);
    expect(promises["readyz-reflects-redis"]!.attempts.none).toBe(2);
    const forms = result.events.filter((e) => e.source === "probe" && e.type === "conformance_probe" && e.promise === "resume-keeps-id").map((e) => (e as { form: string }).form);
    expect(new Set(forms)).toEqual(new Set(["resume_live_record", "resume_missing_record", "resume_dropped_half_open"]));
  });

  it("should fail 'resume-keeps-id' when a resumed connection's record outlives its clean close (no-unregister)", async () => {
    const result = await runCiScenario(conformanceScenario(["static"]), { seed: SEED, control: { defects: "no-unregister" } });
    expectFailedBy(result, "protocol-conformance");
    expect(promisesOf(result)["resume-keeps-id"]!.failed).toContain("local: resume_dropped_half_open");
    // The stranded record went (at its TTL) and the id was kept: only the resumed record's removal is late.
    const stranded = result.events.filter((e) => e.source === "probe" && e.type === "conformance_probe" && (e as { form?: string }).form === "resume_dropped_half_open");
    expect(stranded.length).toBeGreaterThan(0);
    for (const e of stranded as unknown as { observed: { record_gone: boolean; answer: { welcome?: { resumed: boolean } }; resumed_record_gone: boolean } }[]) {
      expect(e.observed, JSON.stringify(e)).toMatchObject({ record_gone: true, answer: { welcome: { resumed: false } }, resumed_record_gone: false });
    }
  });

  it("should refuse an oversized frame by the SUT's own MAX_MESSAGE_BYTES, not the protocol's default", async () => {
    // 4,096 bytes: the default's 66,560-byte probe frame would be over twice this limit, cut off by the WebSocket layer
    // with 1009 and no error frame, and the promise would fail on a gateway that keeps it.
    const result = await runCiScenario(conformanceScenario(["inputs"]), { seed: SEED, env: { MAX_MESSAGE_BYTES: "4096" } });
    expect(promisesOf(result)["bad-frames-answered"], JSON.stringify(promisesOf(result))).toMatchObject({ pass: true, failed: [] });
    const oversized = result.events.filter((e) => e.source === "probe" && e.type === "conformance_probe" && (e as { form?: string }).form === "oversized");
    expect(oversized.length).toBeGreaterThan(0);
    for (const e of oversized as unknown as { expected: string; ok: boolean }[]) expect(e).toMatchObject({ ok: true, expected: expect.stringContaining("about 5120 bytes") });
  });

  it.each(CONTROLS)("should fail $promise under $control", async ({ control, promise, failed, part }) => {
    const result = await runCiScenario(conformanceScenario([part]), { seed: SEED, control });
    expectFailedBy(result, "protocol-conformance");
    const promises = promisesOf(result);
    expect(promises[promise]?.pass, JSON.stringify(promises)).toBe(false);
    expect(promises[promise]!.failed, JSON.stringify(promises[promise])).toContain(failed);
  });
});
