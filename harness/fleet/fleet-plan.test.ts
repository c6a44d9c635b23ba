import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  clientIdentity,
  clientsOfWorker,
  MessagePlanner,
  nextTargetIndex,
  routeTargetOf,
} from "./fleet-plan.js";
import { resolveClientFleetOptions } from "./fleet-options.js";

const BASE = { targets: ["ws://127.0.0.1:9001", "ws://127.0.0.1:9002"], clients: 1_000, authSecret: "s", workers: 3 };

function plan(seed: number, count = 200) {
  const options = resolveClientFleetOptions({ ...BASE, seed });
  const identities = Array.from({ length: options.clients }, (_, i) => clientIdentity(options, i));
  const schedules = [0, 1, 2].map((worker) => {
    const planner = new MessagePlanner(options, worker);
    return Array.from({ length: count }, () => planner.next());
  });
  const backoff = Array.from({ length: 50 }, (_, i) => backoffDelayMs(options, i, 1 + (i % 6)));
  return { identities, schedules, backoff };
}

describe("fleet plan", () => {
  it("should give the same identities, message schedule and backoff for the same seed", () => {
    expect(plan(42)).toEqual(plan(42));
  });

  it("should give different choices for a different seed", () => {
    const a = plan(42);
    const b = plan(43);
    expect(a.identities.map((id) => id.agent_type + id.pillar)).not.toEqual(b.identities.map((id) => id.agent_type + id.pillar));
    expect(a.identities[0]?.session_id).not.toEqual(b.identities[0]?.session_id);
    expect(a.schedules).not.toEqual(b.schedules);
    expect(a.backoff).not.toEqual(b.backoff);
  });

  it("should put every client in exactly one worker, with its whole session", () => {
    const options = resolveClientFleetOptions({ ...BASE, seed: 1, clients: 1_003 });
    const all = [0, 1, 2].flatMap((worker) => clientsOfWorker(options, worker));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 1_003 }, (_, i) => i));
    for (let worker = 0; worker < 3; worker++) {
      for (const index of clientsOfWorker(options, worker)) expect(clientIdentity(options, index).worker).toBe(worker);
    }
  });

  it("should route only to peers of the sender's session, never to the sender itself", () => {
    const options = resolveClientFleetOptions({ ...BASE, seed: 9 });
    const planner = new MessagePlanner(options, 1);
    const own = new Set(clientsOfWorker(options, 1));
    for (let i = 0; i < 2_000; i++) {
      const message = planner.next();
      expect(own.has(message.sender)).toBe(true);
      expect(message.peer).not.toBe(message.sender);
      expect(clientIdentity(options, message.peer).session).toBe(clientIdentity(options, message.sender).session);
    }
  });

  it("should back off exponentially up to the cap, with jitter in [50%, 100%]", () => {
    const options = resolveClientFleetOptions({ ...BASE, seed: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 } });
    for (let n = 1; n <= 10; n++) {
      const base = Math.min(1_000, 100 * 2 ** (n - 1));
      for (let client = 0; client < 100; client++) {
        const delay = backoffDelayMs(options, client, n);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base / 2));
        expect(delay).toBeLessThanOrEqual(base);
      }
    }
  });

  it("should move a client to another target, spreading a lost instance's clients over all the others", () => {
    const options = resolveClientFleetOptions({ ...BASE, seed: 7 });
    const landed = [0, 0, 0, 0];
    for (let index = 0; index < 1_000; index++) {
      const next = nextTargetIndex(options, index, 1, 2, 4);
      expect(next).not.toBe(2);
      expect(next).toBe(nextTargetIndex(options, index, 1, 2, 4));
      landed[next]!++;
    }
    expect(landed[2]).toBe(0);
    // Each of the three others takes about a third (binomial, 1,000 draws: far inside 250-420).
    for (const target of [0, 1, 3]) expect(landed[target]).toBeGreaterThan(250);
    for (const target of [0, 1, 3]) expect(landed[target]).toBeLessThan(420);
    expect(nextTargetIndex(options, 5, 1, 0, 1)).toBe(0);
    expect(nextTargetIndex(options, 5, 1, 1, 2)).toBe(0);
  });

  it("should fall back to the peer's agent type when its websocket_id is unknown", () => {
    const options = resolveClientFleetOptions({ ...BASE, seed: 5 });
    const peer = clientIdentity(options, 3);
    expect(routeTargetOf("websocket_id", peer, "w-1")).toEqual({ websocket_id: "w-1" });
    expect(routeTargetOf("websocket_id", peer, undefined)).toEqual({ agent_type: peer.agent_type });
    expect(routeTargetOf("agent_type+pillar", peer, "w-1")).toEqual({ agent_type: peer.agent_type, pillar: peer.pillar });
  });

  it.each([
    ["no targets", { targets: [] }],
    ["a non-loopback target", { targets: ["ws://10.0.0.1:80"] }],
    ["an http target", { targets: ["http://127.0.0.1:80"] }],
    ["a target with a path", { targets: ["ws://127.0.0.1:80/ws"] }],
    ["zero clients", { clients: 0 }],
    ["an empty secret", { authSecret: "" }],
    ["a fractional seed", { seed: 1.5 }],
    ["more workers than sessions", { clients: 8, workers: 3 }],
    ["too many sockets per worker", { clients: 40_000, workers: 2 }],
    ["a non-loopback source address", { sourceAddresses: ["192.168.1.2"] }],
    ["a negative message rate", { messageRatePerSecond: -1 }],
    ["max delay below initial delay", { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } }],
    ["an agent type with a colon", { agentTypes: ["a:b"] }],
  ])("should reject %s with HARNESS_ERR_INVALID_OPTIONS", (_name, patch) => {
    expect(() => resolveClientFleetOptions({ ...BASE, seed: 1, ...patch })).toThrow(expect.objectContaining({ code: "HARNESS_ERR_INVALID_OPTIONS" }));
  });

  it("should pick enough workers for at most maxSocketsPerWorker clients each", () => {
    const options = resolveClientFleetOptions({ targets: BASE.targets, clients: 20_000, authSecret: "s", seed: 1 });
    expect(options.workers).toBe(3);
    expect(Math.max(...[0, 1, 2].map((w) => clientsOfWorker(options, w).length))).toBeLessThanOrEqual(8_000);
    expect(resolveClientFleetOptions({ targets: BASE.targets, clients: 8_000, authSecret: "s", seed: 1 }).workers).toBe(1);
    expect(resolveClientFleetOptions({ targets: BASE.targets, clients: 8_001, authSecret: "s", seed: 1 }).workers).toBe(2);
  });
});
