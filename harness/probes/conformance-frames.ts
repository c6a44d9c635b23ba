import { DEFAULT_GATEWAY_OPTIONS } from "../../src/gateway/gateway-options.js";
import { conformanceSession, pollFor, recordAttempt } from "./conformance-io.js";
import { openProbeSocket, type ProbeSocket } from "./probe-io.js";
import type { ProbeContext, ProbeInstance } from "./probe-context.js";

/**
 * How long a bad frame's answer may take, in ms: it needs no Redis (parsing fails first), so a gateway answers at
 * once; a second covers a loaded machine's stall.
 */
const ANSWER_TIMEOUT_MS = 2_000;
/**
 * Pings sent at once to meet the rate limit: the protocol's bucket holds 200 frames and refills 100 a second
 * (docs/protocol.md, Limits), so 300 in one burst leave about 100 over it whatever the machine's speed.
 */
const BURST_FRAMES = 300;

/**
 * The frame size the protocol refuses for a limit: above it and well below twice it, so that the gateway, not its
 * WebSocket layer, answers it (docs/protocol.md, Errors).
 */
function oversizedBytes(limit: number): number {
  return limit + Math.max(1, Math.min(1_024, Math.floor(limit / 2)));
}

type Frame = Record<string, unknown>;

/** The next frame `socket` receives that no request waits for, after `send`; `closed` or `timeout` otherwise. */
async function answerTo(socket: ProbeSocket, send: () => void): Promise<Frame> {
  const before = socket.unsolicited.length;
  send();
  const answer = await pollFor(() => socket.unsolicited[before] ?? (socket.open ? undefined : { type: "closed" }), ANSWER_TIMEOUT_MS);
  return answer ?? { type: "timeout" };
}

function isError(answer: Frame, code: string, id?: string): boolean {
  return answer.type === "error" && answer.code === code && (id === undefined || answer.id === id);
}

/**
 * Malformed client frames get the error docs/protocol.md names, and the socket stays open with nothing lost: on one
 * socket per instance, a text frame that is not JSON, a binary frame and an unknown `type` are answered
 * `INVALID_MESSAGE`, a route without `session_id` `SESSION_ID_REQUIRED` (each with the frame's `id` when it had
 * one), a ping after them its pong, and each of a burst of pings over the rate limit its pong or `RATE_LIMITED`,
 * exactly once; on another, a frame over `MAX_MESSAGE_BYTES` is answered `PAYLOAD_TOO_LARGE` and the socket closed
 * with 1009.
 */
export async function probeBadFrames(context: ProbeContext, instances: ProbeInstance[], token: string): Promise<void> {
  const attempt = (via: ProbeInstance, form: string, ok: boolean, expected: string, observed: Record<string, unknown>) =>
    recordAttempt(context, { promise: "bad-frames-answered", form, path: "none", via: via.id, holder: null, ok, expected, observed });
  // Without a MAX_MESSAGE_BYTES of the run's or the SUT definition's, the protocol's default (the reference gateway's).
  const oversized = oversizedBytes(context.maxMessageBytes ?? DEFAULT_GATEWAY_OPTIONS.maxMessageBytes);
  for (const via of instances) {
    const opened = await openProbeSocket({ baseUrl: via.wsUrl, wsPath: context.wsPath, token, sessionId: conformanceSession("frames") });
    if (!opened.ok) {
      attempt(via, "connect", false, "a welcome for a valid connect", { ...opened });
      continue;
    }
    const { socket } = opened;
    try {
      const send = (data: string | Buffer, binary = false) => () => socket.ws.send(data, { binary });
      const notJson = await answerTo(socket, send("not json {"));
      attempt(via, "not_json", isError(notJson, "INVALID_MESSAGE"), "error INVALID_MESSAGE for a text frame that is not JSON", { answer: notJson });
      const binary = await answerTo(socket, send(Buffer.from(JSON.stringify({ type: "ping" })), true));
      attempt(via, "binary", isError(binary, "INVALID_MESSAGE"), "error INVALID_MESSAGE for a binary frame", { answer: binary });
      const unknown = await answerTo(socket, send(JSON.stringify({ type: "no-such-type", id: "frames-unknown" })));
      attempt(via, "unknown_type", isError(unknown, "INVALID_MESSAGE", "frames-unknown"), "error INVALID_MESSAGE with the frame's id for an unknown type", { answer: unknown });
      const route = await answerTo(socket, send(JSON.stringify({ type: "route", id: "frames-route", to: {}, payload: 1 })));
      attempt(via, "route_without_session_id", isError(route, "SESSION_ID_REQUIRED", "frames-route"), "error SESSION_ID_REQUIRED with the frame's id for a route without session_id", { answer: route });
      const pong = await answerTo(socket, send(JSON.stringify({ type: "ping", id: "frames-after" })));
      attempt(via, "open_after", pong.type === "pong" && pong.id === "frames-after" && socket.open, "the socket still open, a ping after the bad frames answered with its pong", { answer: pong, open: socket.open });
      // Every frame gets exactly one answer, also over the rate limit: a pong, or RATE_LIMITED with its id.
      const strays = socket.unsolicited.length;
      const answers = await Promise.all(Array.from({ length: BURST_FRAMES }, () => socket.request({ type: "ping" }, ANSWER_TIMEOUT_MS)));
      const kinds: Record<string, number> = {};
      for (const a of answers) {
        const kind = a.type === "error" ? `error ${String(a.code)}` : String(a.type);
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      const limited = kinds["error RATE_LIMITED"] ?? 0;
      const extra = socket.unsolicited.slice(strays);
      attempt(
        via,
        "rate_limited",
        limited > 0 && limited + (kinds.pong ?? 0) === BURST_FRAMES && extra.length === 0 && socket.open,
        `each of ${BURST_FRAMES} pings sent at once answered exactly once, with its pong or RATE_LIMITED (at least one), and the socket open`,
        { answers: kinds, extra_frames: extra.slice(0, 5), open: socket.open },
      );
    } finally {
      await socket.close();
    }
    const big = await openProbeSocket({ baseUrl: via.wsUrl, wsPath: context.wsPath, token, sessionId: conformanceSession("frames-big") });
    if (!big.ok) {
      attempt(via, "connect", false, "a welcome for a valid connect", { ...big });
      continue;
    }
    const closed = new Promise<number>((resolve) => big.socket.ws.once("close", (code) => resolve(code)));
    const answer = await answerTo(big.socket, () => big.socket.ws.send(JSON.stringify({ type: "ping", id: "frames-big", pad: "x".repeat(oversized) })));
    const closeCode = await Promise.race([closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), ANSWER_TIMEOUT_MS).unref())]);
    attempt(via, "oversized", isError(answer, "PAYLOAD_TOO_LARGE") && closeCode === 1009, `error PAYLOAD_TOO_LARGE, then close 1009, for a frame of about ${oversized} bytes`, { answer, close_code: closeCode });
    big.socket.destroy();
  }
}
