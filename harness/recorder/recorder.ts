import type { Clock } from "../common/clock.js";
import { SYSTEM_CLOCK } from "../common/clock.js";
import { createLogger } from "../common/logger.js";
import type { FaultEvent, FleetEvent, ProbeEventInput, RunEvent, RunEventOf, RunEventSource, RunEventType, RuntimeEvent } from "../events/run-events.js";
import { isEventOf } from "../events/run-events.js";
import type { PhaseSpan, Sample } from "../report/run-result.js";
import { EventLog, readEventLog } from "./event-log.js";

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
 * Fleet message events (`message_sent`, `message_acked`, `message_received`, `message_error`) kept in memory (and in
 * run.json's `events`) at most, when the recorder writes an event log. They are the run's bulk (several per route;
 * a 10-minute run of 20,000 clients has millions); 50,000 keep every event of a CI run in memory and in run.json,
 * about 20 MB at most. Beyond, they are only in the event log, and {@link Recorder.eventsOmitted} counts them.
 */
export const MESSAGE_EVENTS_IN_MEMORY = 50_000;

/** Options of a {@link Recorder}. */
export interface RecorderOptions {
  /**
   * Path of the NDJSON event log (`reports/<run>/events.ndjson`): every event is appended to it as it happens.
   * Without it every event stays in memory ({@link Recorder.events}).
   */
  eventLogPath?: string;
  /** Fleet message events kept in memory at most when there is an event log. @default {@link MESSAGE_EVENTS_IN_MEMORY} */
  messageEventsInMemory?: number;
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set(["message_sent", "message_acked", "message_received", "message_error"]);

/**
 * Records everything of a run: fleet events (via the fleet's `onEvent`), fault intervals, phase changes, process
 * exits, probe findings, and a sample every second taken by the caller's `takeSample`. It is the one place that
 * stamps each producer's events with their `source` (see `harness/events/run-events.ts`).
 */
export class Recorder {
  /**
   * The run's events in recorded order: every one without an event log; with one, every one but the fleet message
   * events beyond the first {@link RecorderOptions.messageEventsInMemory} (those are only in the log: read the
   * whole history with {@link readEvents}).
   */
  readonly events: RunEvent[] = [];
  /** Fleet message events recorded but not kept in {@link events} (they are in the event log). */
  eventsOmitted = 0;
  readonly samples: Sample[] = [];
  readonly phases: PhaseSpan[] = [];
  readonly startedAt: number;
  readonly messageCounts: RecordedMessageCounts = { sent: 0, acked: 0, received: 0, errors: 0 };
  readonly #clock: Clock;
  readonly #log = createLogger("harness:recorder");
  #timer?: NodeJS.Timeout;
  #sampling?: Promise<void>;
  readonly #eventLog?: EventLog;
  readonly #messageLimit: number;
  #messagesKept = 0;
  readonly #listeners = new Set<(event: RunEvent) => void>();

  constructor(clock: Clock = SYSTEM_CLOCK, options: RecorderOptions = {}) {
    this.#clock = clock;
    this.startedAt = clock.now();
    if (options.eventLogPath !== undefined) this.#eventLog = new EventLog(options.eventLogPath);
    this.#messageLimit = options.messageEventsInMemory ?? MESSAGE_EVENTS_IN_MEMORY;
  }

  /** Path of the event log, if the recorder writes one. */
  get eventLogPath(): string | undefined {
    return this.#eventLog?.path;
  }

  /** Every event recorded so far, kept in memory or not. */
  get eventCount(): number {
    return this.events.length + this.eventsOmitted;
  }

  /**
   * Calls `listener` with every event recorded from now on, as it is recorded (aggregates that must see the whole
   * history, such as threshold metrics, follow the run this way). Returns the unsubscribe function.
   */
  subscribe(listener: (event: RunEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * Every event of the run so far in recorded order (with `types`, those of these types), streamed back from the
   * event log (flushed first), or from memory without one. Events recorded while the stream is read may or may not
   * be included.
   */
  readEvents(types?: readonly string[]): AsyncIterable<RunEvent> {
    if (!this.#eventLog) return toAsync(types === undefined ? [...this.events] : this.events.filter((event) => types.includes(event.type)));
    this.#eventLog.flush();
    return readEventLog(this.#eventLog.path, types);
  }

  /** Writes the buffered events to the event log and closes it (at the end of the run); idempotent. */
  closeEventLog(): void {
    this.#eventLog?.close();
  }

  #push(event: RunEvent): void {
    this.#eventLog?.append(event);
    for (const listener of this.#listeners) listener(event);
    if (this.#eventLog && event.source === "fleet" && MESSAGE_TYPES.has(event.type)) {
      if (this.#messagesKept >= this.#messageLimit) {
        this.eventsOmitted++;
        return;
      }
      this.#messagesKept++;
    }
    this.events.push(event);
  }

  /** The current phase name (`setup` before the first). */
  get phase(): string {
    return this.phases.at(-1)?.name ?? "setup";
  }

  /** Records one event. */
  record(event: RunEvent): void {
    this.#push(event);
  }

  /** Records a fault runner event (the runner's `onEvent`). */
  recordFault = (event: FaultEvent): void => {
    this.#push({ ...event, source: "fault" });
  };

  /** Records a runtime event (the runtime's `onEvent`): process states as `process`, the rest as `runtime`. */
  recordRuntime = (event: RuntimeEvent): void => {
    if (event.type === "process_state") this.#push({ ...event, source: "process" });
    else this.#push({ ...event, source: "runtime" });
  };

  /** Records a probe event (a probe context's `record`), at `event.t` or now. */
  recordProbe = (event: ProbeEventInput): void => {
    this.#push({ ...event, t: event.t ?? this.#clock.now(), source: "probe" });
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
    this.#push({ ...event, source: "fleet" });
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

  /** The events of one source and type(s) kept in memory ({@link events}), in recorded order, narrowed to their variants. */
  select<S extends RunEventSource, T extends RunEventType<S>>(source: S, ...types: T[]): RunEventOf<S, T>[] {
    return this.events.filter((event): event is RunEventOf<S, T> => types.length === 0 ? event.source === source : types.some((type) => isEventOf(event, source, type)));
  }
}

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
