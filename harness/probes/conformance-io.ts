import { randomBytes } from "node:crypto";
import type { ConformanceProbeEvent } from "../events/run-events.js";
import type { ProbeContext } from "./probe-context.js";

/** Records one attempt as a `conformance_probe` event. */
export function recordAttempt(context: ProbeContext, attempt: Omit<ConformanceProbeEvent, "type">): void {
  context.record({ type: "conformance_probe", ...attempt });
}

/** The tenant of the conformance probe's own sockets (named after the run, apart from the fleet's tenants). */
export function conformanceTenant(runId: string): string {
  return `conform-${runId}`.slice(0, 128);
}

/** A fresh session of the probe tenant. */
export function conformanceSession(tag: string): string {
  return `conform-${tag}-${randomBytes(4).toString("hex")}`;
}

/** Polls `read` every `intervalMs` until it returns a value or `timeoutMs` passes; `undefined` then. */
export async function pollFor<T>(read: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

