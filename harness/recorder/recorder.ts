import type { Clock } from "../common/clock.js";
import { SYSTEM_CLOCK } from "../common/clock.js";
import { createLogger } from "../common/logger.js";
import type { FaultEvent, FleetEvent, ProbeEventInput, RunEvent, RunEventOf, RunEventSource, RunEventType, RuntimeEvent } from "../events/run-events.js";
import { isEventOf } from "../events/run-events.js";
import type { PhaseSpan, Sample } from "../report/run-result.js";

/** Sampling period of the recorder. */
export const SAMPLE_INTERVAL_MS = 1_000;

/** Counts of fleet message events the recorder has received (the flush barrier compares them with the fleet's). */
export interface RecordedMessageCounts {
  sent: number;
  acked: number;
  received: number;
  errors: number;
}

/**
 * Records everything of a run: fleet events (via the fleet's `onEvent`), fault intervals, phase changes, process
 * exits, probe findings, and a sample every second taken by the caller's `takeSample`. It is the one place that
 * stamps each producer's events with their `source` (see `harness/events/run-events.ts`).
 */
export class Recorder {
  readonly events: RunEvent[] = [];
  readonly samples: Sample[] = [];
  readonly phases: PhaseSpan[] = [];
  readonly startedAt: number;
  readonly messageCounts: RecordedMessageCounts = { sent: 0, acked: 0, received: 0, errors: 0 };
  readonly #clock: Clock;
  readonly #log = createLogger("harness:recorder");
  #timer?: NodeJS.Timeout;
  #sampling?: Promise<void>;

  constructor(clock: Clock = SYSTEM_CLOCK) {
    this.#clock = clock;
    this.startedAt = clock.now();
  }

  /** The current phase name (`setup` before the first). */
  get phase(): string {
    return this.phases.at(-1)?.name ?? "setup";
  }

  /** Records one event. */
  record(event: RunEvent): void {
    this.events.push(event);
  }

  /** Records a fault runner event (the runner's `onEvent`). */
  recordFault = (event: FaultEvent): void => {
    this.events.push({ ...event, source: "fault" });
  };

  /** Records a runtime event (the runtime's `onEvent`): process states as `process`, the rest as `runtime`. */
  recordRuntime = (event: RuntimeEvent): void => {
    if (event.type === "process_state") this.events.push({ ...event, source: "process" });
    else this.events.push({ ...event, source: "runtime" });
  };

  /** Records a probe event (a probe context's `record`), at `event.t` or now. */
  recordProbe = (event: ProbeEventInput): void => {
    this.events.push({ ...event, t: event.t ?? this.#clock.now(), source: "probe" });
  };

  /** Records a fleet event (the fleet's `onEvent`). */
  recordFleet = (event: FleetEvent): void => {
    switch (event.type) {
      case "message_sent":
        this.messageCounts.sent++;
        break;
      case "message_acked":
        this.messageCounts.acked++;
        break;
      case "message_received":
        this.messageCounts.received++;
        break;
      case "message_error":
        this.messageCounts.errors++;
        break;
      default:
        break;
    }
    this.events.push({ ...event, source: "fleet" });
  };

  /** Ends the current phase and starts `name`. */
  startPhase(name: string): PhaseSpan {
    const t = this.#clock.now();
    const current = this.phases.at(-1);
    if (current && current.end === undefined) {
      current.end = t;
      this.record({ t, source: "phase", type: "phase_end", phase: current.name });
    }
    const span: PhaseSpan = { name, start: t };
    this.phases.push(span);
    this.record({ t, source: "phase", type: "phase_start", phase: name });
    this.#log("phase", { name });
    return span;
  }

  /** Ends the current phase, if any. */
  endPhase(): void {
    const current = this.phases.at(-1);
    if (current && current.end === undefined) {
      current.end = this.#clock.now();
      this.record({ t: current.end, source: "phase", type: "phase_end", phase: current.name });
    }
  }

  /**
   * Takes a sample every {@link SAMPLE_INTERVAL_MS} with `takeSample` until {@link stopSampling}. A slow sample
   * never overlaps the next: the next tick is skipped instead.
   */
  startSampling(takeSample: (base: { t: number; elapsed_ms: number; phase: string }) => Promise<Sample>, intervalMs: number = SAMPLE_INTERVAL_MS): void {
    if (this.#timer) return;
    const tick = () => {
      if (this.#sampling) return;
      const t = this.#clock.now();
      this.#sampling = takeSample({ t, elapsed_ms: t - this.startedAt, phase: this.phase })
        .then((sample) => void this.samples.push(sample))
        .catch((error: unknown) => this.#log("sample failed", { error: String(error) }))
        .finally(() => (this.#sampling = undefined));
    };
    tick();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops sampling and waits for a sample in flight. */
  async stopSampling(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sampling;
  }

  /** The events of one source and type(s), in recorded order, narrowed to their variants. */
  select<S extends RunEventSource, T extends RunEventType<S>>(source: S, ...types: T[]): RunEventOf<S, T>[] {
    return this.events.filter((event): event is RunEventOf<S, T> => types.length === 0 ? event.source === source : types.some((type) => isEventOf(event, source, type)));
  }
}
