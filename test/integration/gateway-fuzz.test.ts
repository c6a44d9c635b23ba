import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { WebSocket } from "ws";
import { GatewayServer } from "../../src/gateway/gateway-server.js";
import { TEST_AUTH_SECRET, token } from "../helpers/gateway.js";
import { connectClient, parseFrame } from "../helpers/wire-client.js";
import { useRedisServer } from "../helpers/redis.js";

const FRAMES = 10_000;
const MAX_MESSAGE_BYTES = 65_536;
const ANSWER_TIMEOUT_MS = 5_000;
const ANSWER_TYPES = new Set(["error", "ack", "pong", "session_state"]);

/** A socket whose frames are awaited one at a time, without polling. */
class SequentialClient {
  readonly #queue: Array<Record<string, unknown>> = [];
  #waiter?: (frame: Record<string, unknown>) => void;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const frame = parseFrame(data);
      // Deliveries routed to this socket by other frames are not answers.
      if (frame.type === "message") return;
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter(frame);
      } else {
        this.#queue.push(frame);
      }
    });
  }

  answer(text: string): Promise<Record<string, unknown>> {
    this.ws.send(text);
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS}ms to ${text.slice(0, 300)}`)), ANSWER_TIMEOUT_MS);
      this.#waiter = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
    });
  }
}

const id = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.string({ minLength: 129, maxLength: 140 }), fc.object({ maxDepth: 1 }));
const ident = fc.oneof(fc.constantFrom("fuzz-session", "a", "p", "x:y", "{s}", "", " "), fc.string({ maxLength: 30 }), fc.integer());
const structured = fc
  .record(
    {
      type: fc.constantFrom("route", "ping", "session_state", "welcome", "ack", "message", "", "ROUTE", "reconnect"),
      id,
      session_id: ident,
      to: fc.oneof(
        fc.record({ websocket_id: ident }, { requiredKeys: [] }),
        fc.record({ agent_type: ident, pillar: ident }, { requiredKeys: [] }),
        fc.anything({ maxDepth: 1 }),
      ),
      payload: fc.jsonValue({ maxDepth: 3 }),
      set: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 5 }), fc.anything({ maxDepth: 1 })),
    },
    { requiredKeys: [] },
  )
  .map((frame) => JSON.stringify(frame));
const frameText = fc
  .oneof(
    { weight: 6, arbitrary: structured },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  )
  .filter((text) => text.length > 0 && Buffer.byteLength(text) < MAX_MESSAGE_BYTES);

describe("gateway frame fuzzing", () => {
  it(`should answer each of ${FRAMES} random frames and stay healthy`, { timeout: 60_000 }, async () => {
    const redis = await useRedisServer();
    const gateway = new GatewayServer({
      port: 0,
      redisUrl: redis.url,
      instanceId: "gw-fuzz",
      authSecret: TEST_AUTH_SECRET,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      // One socket sends every frame back to back: the rate limit has its own test.
      rateLimitPerSec: 1_000_000,
      rateLimitBurst: 1_000_000,
    });
    await gateway.start();
    onTestFinished(() => gateway.stop());
    const target = { wsUrl: `ws://127.0.0.1:${gateway.port}/ws` };
    const fuzzer = await connectClient(target, token("t-fuzz"), { session_id: "fuzz-session", agent_type: "a", pillar: "p" });
    const bystander = await connectClient(target, token("t-fuzz"), { session_id: "fuzz-session", agent_type: "b", pillar: "p" });
    const client = new SequentialClient(fuzzer.ws);
    const answered = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(frameText, async (text) => {
        const answer = await client.answer(text);
        expect(ANSWER_TYPES.has(String(answer.type)), JSON.stringify(answer)).toBe(true);
        const kind = answer.type === "error" ? `error:${String(answer.code)}` : String(answer.type);
        answered.set(kind, (answered.get(kind) ?? 0) + 1);
      }),
      { numRuns: FRAMES, seed: 20_261_125, endOnFailure: true },
    );
    expect([...answered.values()].reduce((sum, n) => sum + n, 0)).toBe(FRAMES);
    expect(answered.get("error:INVALID_MESSAGE")).toBeGreaterThan(0);
    expect(answered.get("pong")).toBeGreaterThan(0);
    expect(answered.has("error:INTERNAL")).toBe(false);

    expect(fuzzer.ws.readyState).toBe(WebSocket.OPEN);
    expect(gateway.ready).toBe(true);
    expect(gateway.connectionCount).toBe(2);
    const health = await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await bystander.request({ type: "route", id: "after", session_id: "fuzz-session", to: { websocket_id: fuzzer.websocketId }, payload: "ok" })).toMatchObject({ delivered: 1 });
  });
});
