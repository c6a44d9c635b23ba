/**
 * WebSocket clients held in a child process of their own (held-clients-child.mjs), for tests whose check counts a
 * held client's absence as a failure: clock-skew's probe (every held connection must be found by every instance)
 * and half-open-cleanup (every record there when the cut begins), and for tests that time the gateways' pings.
 *
 * Clients held in the test process answer the gateways' pings only when its event loop turns. Those tests run the
 * gateways with a 500 ms heartbeat, and a gateway terminates a client that leaves one ping unanswered, so a stall of
 * the test process past a heartbeat (its own work, a collection, a loaded machine) had the reference gateway close
 * them as half-open, and the check failed it. Reproduced: with the test worker stopped (SIGSTOP) for 1.2 s every 3.7 s,
 * both reference runs of nemesis-clock-skew.test.ts failed (330 and 540 missed lookups); held here, they pass. The
 * child does nothing but hold the clients.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import type { OnFinished } from "./wire-client.js";

const CHILD = fileURLToPath(new URL("./held-clients-child.mjs", import.meta.url));
/** Clients opened at once, as wire-client.ts's connectMany opens them. */
const CONNECT_BATCH = 50;
/** How long the child may take to start, ms (tens of ms measured; room for a loaded machine). */
const START_TIMEOUT_MS = 15_000;

/** A held client that closed: its websocket id, the close code and when (epoch ms). */
export interface ClosedClient {
  websocket_id: string;
  code: number;
  t: number;
}

type Reply =
  | { type: "connected"; request: number; ids: string[] }
  | { type: "failed"; request: number; error: string }
  | { type: "closed"; request: number; closed: ClosedClient[] }
  | { type: "pings"; request: number; pings: [string, number[]][] };

/** One child process holding clients; stopped (with its clients) when the test finishes. */
export class HeldClients {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  #requests = 0;
  #exited: Error | undefined;
  /** Websocket ids of the held clients, in the order connectMany resolved them. */
  readonly #ids: string[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (reply: Reply) => {
      const waiter = this.#pending.get(reply.request);
      if (waiter === undefined) return;
      this.#pending.delete(reply.request);
      waiter.resolve(reply);
    });
    child.once("exit", (code, signal) => {
      this.#exited = new Error(`the held clients' process exited (${signal ?? code})`);
      for (const waiter of this.#pending.values()) waiter.reject(this.#exited);
      this.#pending.clear();
    });
  }

  /** Starts the child process; it is killed when the test finishes (`onFinished`). */
  static async start(onFinished: OnFinished = onTestFinished): Promise<HeldClients> {
    const child = fork(CHILD, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    onFinished(() => void child.kill("SIGKILL"));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the held clients' process did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the held clients' process exited at its start (${signal ?? code})`));
      });
    });
    return new HeldClients(child);
  }

  /** Sends `message` and resolves with the child's answer, which must be of one of `expected`'s types. */
  async #ask<T extends Reply["type"]>(message: { type: "connect"; urls: string[]; autoPong: boolean } | { type: "closed" } | { type: "pings" }, ...expected: T[]): Promise<Extract<Reply, { type: T }>> {
    if (this.#exited) throw this.#exited;
    const request = ++this.#requests;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.#pending.set(request, { resolve, reject });
      this.#child.send({ ...message, request });
    });
    if (!(expected as string[]).includes(reply.type)) throw new Error(`held clients: asked ${message.type}, the child answered ${reply.type}`);
    return reply as Extract<Reply, { type: T }>;
  }

  /**
   * Opens `n` clients to `gateway`, {@link CONNECT_BATCH} at a time, client `i` in session `sessionOf(i)` (agent
   * type `a` unless `agentType` says otherwise, pillar `p`, the token in the query: as wire-client.ts's connectMany);
   * resolves with their websocket ids in that order once each is welcomed. Rejects with the first failure (a refused
   * upgrade, no welcome in 10 s). `autoPong: false`: clients that never answer a ping (half-open to the gateway).
   */
  async connectMany(
    gateway: { wsUrl: string },
    tokenValue: string,
    sessionOf: (i: number) => string,
    n: number,
    options: { agentType?: string; autoPong?: boolean } = {},
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += CONNECT_BATCH) {
      const urls = Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, (_, j) => {
        const query = new URLSearchParams({ session_id: sessionOf(i + j), agent_type: options.agentType ?? "a", pillar: "p", token: tokenValue });
        return `${gateway.wsUrl}?${query.toString()}`;
      });
      const reply = await this.#ask({ type: "connect", urls, autoPong: options.autoPong ?? true }, "connected", "failed");
      if (reply.type === "failed") throw new Error(`held clients: ${reply.error}`);
      ids.push(...reply.ids);
    }
    this.#ids.push(...ids);
    return ids;
  }

  /**
   * One client on each of `gateways` in each of `count` sessions `<prefix>-<n>` (opened gateway by gateway): the
   * sessions with their clients' websocket ids, in the order of `gateways`, as clock-skew's probe takes them.
   */
  async sessionsAcross(gateways: readonly { wsUrl: string }[], tokenValue: string, prefix: string, count: number): Promise<Record<string, { token: string; ids: string[] }>> {
    const sessions: Record<string, { token: string; ids: string[] }> = {};
    for (const gateway of gateways) {
      const ids = await this.connectMany(gateway, tokenValue, (i) => `${prefix}-${i}`, count);
      ids.forEach((id, i) => (sessions[`${prefix}-${i}`] ??= { token: tokenValue, ids: [] }).ids.push(id));
    }
    return sessions;
  }

  /** Every held client that has closed so far (none, while the gateways keep them and the child answers pings). */
  async closed(): Promise<ClosedClient[]> {
    return (await this.#ask({ type: "closed" }, "closed")).closed;
  }

  /**
   * Per held client, in the order {@link connectMany} resolved them, the times its pings arrived (ms on the child's
   * own monotonic clock: only differences between them mean anything), taken in the child, so that a stall of the test
   * process neither bunches nor delays them.
   */
  async pings(): Promise<number[][]> {
    const byId = new Map((await this.#ask({ type: "pings" }, "pings")).pings);
    return this.#ids.map((id) => byId.get(id) ?? []);
  }
}
