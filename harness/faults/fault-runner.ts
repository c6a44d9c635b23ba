import type { Clock } from "../common/clock.js";
import { SYSTEM_CLOCK } from "../common/clock.js";
import { createLogger } from "../common/logger.js";
import { HarnessError } from "../errors.js";
import type { FaultEndEvent, FaultEvent, FaultEventBase } from "../events/run-events.js";
import type { ProcessExit } from "../runtime/gateway-process.js";
import type { InstanceInfo, StartedRuntime } from "../runtime/runtime.js";
import { describeFault, STAGGER_MARGIN_MS, type Fault } from "./fault.js";
import type { ToxiproxyProxy, ToxicSpec } from "./toxiproxy-faults.js";

/** How often a staggered partition reads the liveness keys, ms. */
const STAGGER_POLL_MS = 20;

/** A fault whose instance selector has been resolved (with the run's seed) to concrete instance ids. */
export type ResolvedFault = Fault & { /** Instance ids hit, in order; empty for Redis-wide faults. */ targets: string[] };

/**
 * What the runner needs of a topology: the part of {@link StartedRuntime} that faults act through. Every runtime
 * provides all of it; tests may pass a narrower stand-in without the capability-bound methods.
 */
export type FaultTarget = Pick<StartedRuntime, "killInstance" | "stopInstance" | "startInstance" | "restartRedis" | "proxiesOf" | "clientProxiesOf"> &
  Partial<Pick<StartedRuntime, "pauseInstance" | "resumeInstance" | "disconnectInstance" | "reconnectInstance" | "failoverRedis" | "capabilities" | "impairLink" | "silenceLinks" | "healLink" | "linkCounters">> & {
    instance(id: string): Pick<InstanceInfo, "wsUrl">;
  };

/** The capability-bound method a fault needs, or a `HARNESS_ERR_UNSUPPORTED` error naming what is missing. */
function optional<K extends "pauseInstance" | "resumeInstance" | "disconnectInstance" | "reconnectInstance">(target: FaultTarget, name: K, fault: string): NonNullable<FaultTarget[K]> {
  const method = target[name];
  if (typeof method !== "function") throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `${fault} needs a runtime that can ${name.replace("Instance", "")} an instance; run it with --runtime containers`);
  return method.bind(target) as NonNullable<FaultTarget[K]>;
}

/** A bounded WebSocket connection flood (provided by harness/load). */
export type ConnectionFloodDriver = (options: { targets: string[]; connections: number; ratePerSecond: number; durationMs: number; signal: AbortSignal }) => Promise<Record<string, unknown>>;

/**
 * Stalled readers on an instance next to a reader that keeps up (provided by harness/load/slow-consumers.ts): runs
 * for `durationMs` and resolves with what it saw, recorded as the fault's `detail` (judged by `slow-consumer`).
 */
export type SlowConsumerDriver = (options: { target: string; consumers: number; messageBytes: number; ratePerSecond: number; durationMs: number; signal: AbortSignal }) => Promise<Record<string, unknown>>;

/** A fault interval event, as recorded (defined with every run event in `harness/events/run-events.ts`). */
export type { FaultEvent } from "../events/run-events.js";

/** Options of {@link FaultRunner}. */
export interface FaultRunnerOptions {
  target: FaultTarget;
  onEvent: (event: FaultEvent) => void;
  clock?: Clock;
  connectionFlood?: ConnectionFloodDriver;
  slowConsumers?: SlowConsumerDriver;
  /** Remaining TTL (ms; -2: gone) of each instance's liveness key in Redis: what a staggered partition watches. */
  livenessTtls?: (instanceIds: string[]) => Promise<Record<string, number>>;
}

/** Runs faults against a topology, each as an interval with start and end events. */
export class FaultRunner {
  readonly #options: FaultRunnerOptions;
  readonly #clock: Clock;
  readonly #active = new Map<string, string>();
  readonly #bases = new Map<string, Omit<FaultEventBase, "t">>();
  /** When each running fault's heal began (`fault_end.heal_started_at`). */
  readonly #healStarts = new Map<string, number>();
  readonly #log = createLogger("harness:faults");
  #count = 0;

  constructor(options: FaultRunnerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Descriptions of the faults currently in effect, by fault id. */
  active(): Record<string, string> {
    return Object.fromEntries(this.#active);
  }

  /**
   * Runs one fault to its end: injects it, holds it for its duration, heals it. Resolves with the end event;
   * a fault that could not be applied as asked yields `ok: false` (a result, not an exception), except
   * harness failures (`HARNESS_ERR_TOXIPROXY`, ...), which reject. Aborting `signal` heals at once.
   */
  async run(fault: ResolvedFault, signal?: AbortSignal): Promise<FaultEndEvent> {
    const faultId = `f${++this.#count}`;
    const description = describeFault({ ...fault, ...(fault.targets.length > 0 && "target" in fault ? { target: fault.targets.join(",") } : {}) } as Fault);
    const base = { fault_id: faultId, kind: fault.kind, targets: fault.targets, description };
    const t0 = this.#clock.now();
    this.#active.set(faultId, description);
    this.#bases.set(faultId, base);
    this.#options.onEvent({ t: t0, type: "fault_start", ...base });
    this.#log("start", { faultId, description });
    let ok = true;
    let error: FaultEndEvent["error"];
    let detail: Record<string, unknown> | undefined;
    try {
      detail = await this.#apply(fault, faultId, signal);
    } catch (caught) {
      const code = (caught as { code?: string }).code;
      if (code === "HARNESS_ERR_INSTANCE_STOP_FAILED" || code === "HARNESS_ERR_PROCESS_EXITED" || code === "HARNESS_ERR_INSTANCE_START_TIMEOUT") {
        ok = false;
        error = { code, message: (caught as Error).message };
      } else {
        this.#end(base, t0, false, { ...(code ? { code } : {}), message: (caught as Error).message }, undefined);
        throw caught;
      }
    }
    return this.#end(base, t0, ok, error, detail);
  }

  #end(base: Omit<FaultEventBase, "t">, t0: number, ok: boolean, error: FaultEndEvent["error"], detail: Record<string, unknown> | undefined): FaultEndEvent {
    const t = this.#clock.now();
    const healStartedAt = this.#healStarts.get(base.fault_id);
    this.#active.delete(base.fault_id);
    this.#bases.delete(base.fault_id);
    this.#healStarts.delete(base.fault_id);
    const event: FaultEndEvent = {
      t,
      type: "fault_end",
      ...base,
      ok,
      duration_ms: t - t0,
      ...(healStartedAt !== undefined ? { heal_started_at: healStartedAt } : {}),
      ...(error ? { error } : {}),
      ...(detail ? { detail } : {}),
    };
    this.#options.onEvent(event);
    this.#log("end", { faultId: base.fault_id, ok });
    return event;
  }

  /**
   * Marks the moment a fault begins to be undone (the first proxy enabled or toxic removed, the first instance
   * reconnected, resumed or restarted on the true clock): a heal of several targets takes one API call or process
   * start after another, and `fault_end` comes only after the last (hundreds of milliseconds later on a loaded
   * machine). Only the first mark of a fault counts.
   */
  #healing(faultId: string): void {
    if (!this.#healStarts.has(faultId)) this.#healStarts.set(faultId, this.#clock.now());
  }

  #applied(faultId: string): void {
    const base = this.#bases.get(faultId);
    if (base) this.#options.onEvent({ t: this.#clock.now(), type: "fault_applied", ...base });
  }

  async #hold(ms: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.#clock.sleep(ms, signal);
    } catch {
      // Aborted: heal now (the caller sees the abort through its own signal).
    }
  }

  /**
   * `Fault.partition({ staggered })`: cuts the first target, then the others once its liveness key will lapse at
   * least {@link STAGGER_MARGIN_MS} before theirs and no sooner than that margin from now; gives the others Redis
   * back as soon as its key is gone, and it `lastBackMs` later. `fault_applied` once every target is cut. The detail
   * says whether the window was met (`window_met`: the others' keys still stood when they got Redis back).
   */
  async #staggeredOutage(fault: ResolvedFault & { kind: "partition" }, lastBackMs: number, faultId: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const { target, livenessTtls } = this.#options;
    const [first, ...rest] = fault.targets as [string, ...string[]];
    const proxiesOf = (ids: string[]) => ids.flatMap((id) => target.proxiesOf(id));
    const deadline = this.#clock.now() + fault.durationMs;
    const ttls = async (): Promise<Record<string, number> | undefined> => (livenessTtls ? livenessTtls(fault.targets).catch(() => undefined) : undefined);
    const ready = (r: Record<string, number> | undefined) => r !== undefined && r[first]! >= STAGGER_MARGIN_MS && rest.every((id) => r[id]! - r[first]! >= STAGGER_MARGIN_MS);
    const cut: string[] = [];
    const detail: Record<string, unknown> = { first, rest };
    try {
      for (const proxy of proxiesOf([first])) await proxy.setEnabled(false);
      cut.push(first);
      let reading = await ttls();
      while (!ready(reading) && reading !== undefined && reading[first]! >= STAGGER_MARGIN_MS && this.#clock.now() < deadline && !signal?.aborted) {
        await this.#hold(STAGGER_POLL_MS, signal);
        reading = await ttls();
      }
      detail.rest_cut_at_ttls = reading ?? null;
      const inWindow = ready(reading);
      for (const proxy of proxiesOf(rest)) await proxy.setEnabled(false);
      cut.push(...rest);
      this.#applied(faultId);
      if (!inWindow) {
        // No liveness keys to go by, or the window was missed: a plain partition of every target.
        detail.window_met = false;
        await this.#hold(Math.max(0, deadline - this.#clock.now()), signal);
        return detail;
      }
      while (reading?.[first] !== -2 && this.#clock.now() < deadline && !signal?.aborted) {
        await this.#hold(STAGGER_POLL_MS, signal);
        reading = (await ttls()) ?? reading;
      }
      this.#healing(faultId);
      for (const proxy of proxiesOf(rest)) await proxy.setEnabled(true);
      cut.splice(1);
      detail.rest_back_at_ttls = reading ?? null;
      detail.window_met = reading?.[first] === -2 && rest.every((id) => reading![id]! > 0);
      await this.#hold(Math.min(lastBackMs, Math.max(0, deadline - this.#clock.now())), signal);
      return detail;
    } finally {
      if (cut.length > 0) this.#healing(faultId);
      for (const proxy of proxiesOf(cut)) await proxy.setEnabled(true);
    }
  }

  async #withToxics(ids: string[], faultId: string, toxics: Omit<ToxicSpec, "name">[], durationMs: number, signal?: AbortSignal): Promise<void> {
    await this.#withProxyToxics(ids.flatMap((id) => this.#options.target.proxiesOf(id)), faultId, toxics, durationMs, signal);
  }

  async #withProxyToxics(proxies: readonly ToxiproxyProxy[], faultId: string, toxics: Omit<ToxicSpec, "name">[], durationMs: number, signal?: AbortSignal): Promise<void> {
    const added: { proxy: ToxiproxyProxy; name: string }[] = [];
    try {
      for (const proxy of proxies) {
        for (const [n, toxic] of toxics.entries()) {
          const name = `${faultId}-${toxic.type}-${n}`;
          await proxy.addToxic({ ...toxic, name });
          added.push({ proxy, name });
        }
      }
      this.#applied(faultId);
      await this.#hold(durationMs, signal);
    } finally {
      if (added.length > 0) this.#healing(faultId);
      const healed = await Promise.allSettled(added.map(({ proxy, name }) => proxy.removeToxic(name)));
      const failed = healed.find((result) => result.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  }

  /** Runs `fn` with a signal of its own that follows `signal`, so that an abort reaches a driver that stops by itself. */
  async #driven<T>(signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await fn(controller.signal);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Drains each target and starts it again on a skewed wall clock, holds, then drains it and starts it on the true
   * clock. The instance is down only between its drain and its start (clients resume on the others meanwhile); the
   * skew holds from the skewed start to the last drain.
   */
  async #clockSkew(fault: ResolvedFault & { kind: "clock_skew" }, faultId: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const target = this.#options.target;
    if (target.capabilities && !target.capabilities.clockSkew) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "a clock skew needs a runtime that can start an instance on a skewed clock (capability clockSkew)");
    const skewed: string[] = [];
    const exits: Record<string, ProcessExit[]> = {};
    try {
      for (const id of fault.targets) {
        exits[id] = [await target.stopInstance(id)];
        skewed.push(id);
        await target.startInstance(id, { clockOffsetMs: fault.offsetMs });
      }
      this.#applied(faultId);
      await this.#hold(fault.durationMs, signal);
    } finally {
      if (skewed.length > 0) this.#healing(faultId);
      for (const id of skewed) {
        exits[id]!.push(await target.stopInstance(id));
        await target.startInstance(id, { clockOffsetMs: 0 });
      }
    }
    return { offset_ms: fault.offsetMs, exits };
  }

  /**
   * A fault on the targets' own links (packet faults, silenced links): `apply` on each target, hold, then `healLink`
   * on each one applied, whatever happened. Resolves with what `apply` answered per target and what TCP saw on each
   * target's connections from just before the fault to its heal (`linkCounters` differences): the fault's evidence.
   */
  async #onLinks<T>(fault: ResolvedFault & { durationMs: number }, faultId: string, signal: AbortSignal | undefined, apply: (id: string) => Promise<T>): Promise<{ applied: Record<string, T>; tcp: Record<string, Record<string, number>> }> {
    const target = this.#options.target;
    const heal = target.healLink!.bind(target);
    const counters = async () => Object.fromEntries(await Promise.all(fault.targets.map(async (id) => [id, await target.linkCounters?.(id)] as const)));
    const before = await counters();
    const applied: Record<string, T> = {};
    const touched: string[] = [];
    try {
      for (const id of fault.targets) {
        touched.push(id);
        applied[id] = await apply(id);
      }
      this.#applied(faultId);
      await this.#hold(fault.durationMs, signal);
    } finally {
      if (touched.length > 0) this.#healing(faultId);
      const healed = await Promise.allSettled(touched.map((id) => heal(id)));
      const failed = healed.find((result) => result.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    const after = await counters();
    const tcp = Object.fromEntries(
      fault.targets.flatMap((id) => {
        const [b, a] = [before[id], after[id]];
        return b && a ? [[id, Object.fromEntries(Object.entries(a).map(([name, value]) => [name, value - b[name as keyof typeof b]]))]] : [];
      }),
    );
    return { applied, tcp };
  }

  async #apply(fault: ResolvedFault, faultId: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    const target = this.#options.target;
    const exits: Record<string, ProcessExit> = {};
    switch (fault.kind) {
      case "kill_instance":
        for (const id of fault.targets) exits[id] = await target.killInstance(id);
        return { exits };
      case "stop_instance":
        for (const id of fault.targets) exits[id] = await target.stopInstance(id);
        return { exits };
      case "start_instance":
        for (const id of fault.targets) await target.startInstance(id);
        return undefined;
      case "restart_instance":
      case "rolling_restart": {
        const mode = fault.mode;
        const pause = fault.kind === "restart_instance" ? fault.downMs : 0;
        for (const [i, id] of fault.targets.entries()) {
          if (fault.kind === "rolling_restart" && i > 0 && fault.pauseMs > 0) await this.#hold(fault.pauseMs, signal);
          exits[id] = mode === "kill" ? await target.killInstance(id) : await target.stopInstance(id);
          if (pause > 0) await this.#hold(pause, signal);
          await target.startInstance(id);
        }
        return { exits };
      }
      case "partition": {
        if (fault.form === "network") {
          const disconnect = optional(target, "disconnectInstance", "a network partition");
          const reconnect = optional(target, "reconnectInstance", "a network partition");
          const cut: string[] = [];
          try {
            for (const id of fault.targets) {
              await disconnect(id);
              cut.push(id);
            }
            this.#applied(faultId);
            await this.#hold(fault.durationMs, signal);
          } finally {
            if (cut.length > 0) this.#healing(faultId);
            for (const id of cut) await reconnect(id);
          }
          return undefined;
        }
        if (fault.form === "disable" && fault.staggered && fault.targets.length >= 2) return this.#staggeredOutage(fault, fault.staggered.lastBackMs, faultId, signal);
        if (fault.form === "disable") {
          const proxies = fault.targets.flatMap((id) => target.proxiesOf(id));
          try {
            for (const proxy of proxies) await proxy.setEnabled(false);
            this.#applied(faultId);
            await this.#hold(fault.durationMs, signal);
          } finally {
            this.#healing(faultId);
            for (const proxy of proxies) await proxy.setEnabled(true);
          }
          return undefined;
        }
        const toxic: Omit<ToxicSpec, "name"> =
          fault.form === "blackhole" ? { type: "timeout", attributes: { timeout: 0 } } : { type: "reset_peer", attributes: { timeout: 0 } };
        await this.#withToxics(fault.targets, faultId, [{ ...toxic, stream: "upstream" }, { ...toxic, stream: "downstream" }], fault.durationMs, signal);
        return undefined;
      }
      case "freeze_instance": {
        const pause = optional(target, "pauseInstance", "a freeze");
        const resume = optional(target, "resumeInstance", "a freeze");
        const frozen: string[] = [];
        try {
          for (const id of fault.targets) {
            await pause(id);
            frozen.push(id);
          }
          this.#applied(faultId);
          await this.#hold(fault.durationMs, signal);
        } finally {
          if (frozen.length > 0) this.#healing(faultId);
          for (const id of frozen) await resume(id);
        }
        return undefined;
      }
      case "latency":
        await this.#withToxics(fault.targets, faultId, [{ type: "latency", stream: "downstream", attributes: { latency: fault.latencyMs, jitter: fault.jitterMs } }], fault.durationMs, signal);
        return undefined;
      case "bandwidth":
        await this.#withToxics(
          fault.targets,
          faultId,
          [
            { type: "bandwidth", stream: "upstream", attributes: { rate: fault.rateKbps } },
            { type: "bandwidth", stream: "downstream", attributes: { rate: fault.rateKbps } },
          ],
          fault.durationMs,
          signal,
        );
        return undefined;
      case "redis_restart":
        await target.restartRedis();
        return undefined;
      case "redis_failover": {
        if (typeof target.failoverRedis !== "function") throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "redis_failover needs a runtime that can fail Redis over (--redis sentinel)");
        this.#applied(faultId);
        return await target.failoverRedis();
      }
      case "clock_skew":
        return this.#clockSkew(fault, faultId, signal);
      case "client_link": {
        const proxies = fault.targets.flatMap((id) => target.clientProxiesOf?.(id) ?? []);
        if (proxies.length !== fault.targets.length) {
          throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `${fault.kind} needs a client proxy in front of each target (${fault.targets.join(", ")}); start the runtime with clientProxies: true`);
        }
        await this.#withProxyToxics(proxies, faultId, clientLinkToxics(fault), fault.durationMs, signal);
        return { proxies: proxies.map((proxy) => proxy.name) };
      }
      case "packet_fault": {
        if (typeof target.impairLink !== "function" || typeof target.healLink !== "function") {
          throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "a packet fault needs a runtime whose instances run in network namespaces of the run's own: --runtime local or containers, as root, with networkNamespaces");
        }
        const impair = target.impairLink.bind(target);
        const { tcp } = await this.#onLinks(fault, faultId, signal, (id) => impair(id, { form: fault.form, percent: fault.percent }));
        return { form: fault.form, percent: fault.percent, tcp };
      }
      case "stale_links": {
        if (typeof target.silenceLinks !== "function" || typeof target.healLink !== "function") {
          throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "stale_links needs a runtime whose instances run in network namespaces of the run's own: --runtime local or containers, as root, with networkNamespaces");
        }
        const silence = target.silenceLinks.bind(target);
        const { applied: ports, tcp } = await this.#onLinks(fault, faultId, signal, silence);
        // Retransmissions of the silenced connections show that the fault held something they sent.
        return { ports, retransmitted: Object.fromEntries(Object.entries(tcp).map(([id, counters]) => [id, counters.retransmitted ?? 0])) };
      }
      case "slow_consumers": {
        const drive = this.#options.slowConsumers;
        if (!drive) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "slow_consumers needs a slow-consumer driver (harness/load/slow-consumers.ts) and none was given to the fault runner");
        return this.#driven(signal, async (driverSignal) => {
          const results: Record<string, unknown> = {};
          this.#applied(faultId);
          await Promise.all(fault.targets.map(async (id) => (results[id] = await drive({ target: id, consumers: fault.consumers, messageBytes: fault.messageBytes, ratePerSecond: fault.ratePerSecond, durationMs: fault.durationMs, signal: driverSignal }))));
          return { consumers: results };
        });
      }
      case "connection_flood": {
        const flood = this.#options.connectionFlood;
        if (!flood) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "connection_flood needs a connection flood driver (harness/load) and none was given to the fault runner");
        const controller = new AbortController();
        const onAbort = () => controller.abort(signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        try {
          return await flood({ targets: fault.targets.map((id) => target.instance(id).wsUrl), connections: fault.connections, ratePerSecond: fault.ratePerSecond, durationMs: fault.durationMs, signal: controller.signal });
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
      }
    }
  }
}

/** The toxics of a client-link fault, both directions of the client proxy. */
function clientLinkToxics(fault: Fault & { kind: "client_link" }): Omit<ToxicSpec, "name">[] {
  const both = (toxic: Omit<ToxicSpec, "name" | "stream">): Omit<ToxicSpec, "name">[] => [{ ...toxic, stream: "upstream" }, { ...toxic, stream: "downstream" }];
  switch (fault.form) {
    case "latency":
      return both({ type: "latency", attributes: { latency: fault.latencyMs, jitter: 0 } });
    case "bandwidth":
      return both({ type: "bandwidth", attributes: { rate: fault.rateKbps } });
    case "reset":
      return both({ type: "reset_peer", attributes: { timeout: 0 } });
    case "blackhole":
      return both({ type: "timeout", attributes: { timeout: 0 } });
  }
}
