import type { Fault } from "../faults/fault.js";

/** One step of a scenario; data only, run by the engine in order. */
export type Step =
  /** Starts a named phase (shown live and in reports). */
  | { kind: "phase"; name: string }
  /** Starts the client fleet and waits until every client is connected (at most `timeoutMs`). */
  | { kind: "connect_fleet"; timeoutMs: number }
  /** Sets the fleet's route rate (messages per second across the fleet; 0 pauses). */
  | { kind: "messages"; perSecond: number }
  /** Lets time pass under the current load: `ms` plus a seeded `0..jitterMs`. */
  | { kind: "hold"; ms: number; jitterMs: number }
  /** Injects a fault; waits for its end unless `background`. */
  | { kind: "fault"; fault: Fault; background: boolean }
  /** Waits until every client is connected again (at most `timeoutMs`). */
  | { kind: "await_connected"; timeoutMs: number }
  /** Pauses messages, waits for every sent message's outcome and every client to be connected (at most `timeoutMs`). */
  | { kind: "settle"; timeoutMs: number };

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number (got ${value})`);
  return value;
}

/** Factories of {@link Step} values. */
export const Step = Object.freeze({
  phase(name: string): Step {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new TypeError(`phase name must be kebab-case (got ${JSON.stringify(name)})`);
    return { kind: "phase", name };
  },
  /** @default timeoutMs 60000 */
  connectFleet(options: { timeoutMs?: number } = {}): Step {
    return { kind: "connect_fleet", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 60_000) };
  },
  messages(perSecond: number): Step {
    return { kind: "messages", perSecond: nonNegative("perSecond", perSecond) };
  },
  /** @default jitterMs 0 */
  hold(ms: number, options: { jitterMs?: number } = {}): Step {
    return { kind: "hold", ms: nonNegative("ms", ms), jitterMs: nonNegative("jitterMs", options.jitterMs ?? 0) };
  },
  /** @default background false */
  fault(fault: Fault, options: { background?: boolean } = {}): Step {
    return { kind: "fault", fault, background: options.background ?? false };
  },
  /** @default timeoutMs 30000 */
  awaitConnected(options: { timeoutMs?: number } = {}): Step {
    return { kind: "await_connected", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 30_000) };
  },
  /** @default timeoutMs 15000 */
  settle(options: { timeoutMs?: number } = {}): Step {
    return { kind: "settle", timeoutMs: nonNegative("timeoutMs", options.timeoutMs ?? 15_000) };
  },
});

/** A step with every seeded choice made: concrete instance ids and hold times. */
export type PlannedStep =
  | Exclude<Step, { kind: "hold" } | { kind: "fault" }>
  | { kind: "hold"; ms: number }
  | { kind: "fault"; fault: Fault & { targets: string[] }; background: boolean };

/** One line describing a planned step. */
export function describeStep(step: PlannedStep): string {
  switch (step.kind) {
    case "phase":
      return `phase ${step.name}`;
    case "connect_fleet":
      return "connect fleet";
    case "messages":
      return `messages ${step.perSecond}/s`;
    case "hold":
      return `hold ${step.ms}ms`;
    case "fault":
      return `fault ${step.fault.kind} ${step.fault.targets.join(",")}${step.background ? " (background)" : ""}`;
    case "await_connected":
      return "await connected";
    case "settle":
      return "settle";
  }
}
